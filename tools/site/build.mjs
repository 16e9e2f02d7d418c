// tools/site/build.mjs: the course as a static site in site/, made afresh from NOTES.md, README.md
// and the code at every build (make site). pandoc turns the markdown into HTML and highlights
// whole source files; diff2html draws each stage's diff, the output of its `make diff-N`.
//
// The pages:
//   index.html           NOTES.md up to Part 1, then README.md from its first section on
//   partN.html           the chapter of Part N, its diff placed after its `make diff-N` block
//   <heading id>.html    each chapter after the parts (the defences, the epilogue, ...)
//   part3/server.cpp.html and the like: every source file of the stages and common/, whole,
//                        each line an anchor (#L42)
// Links follow: #heading goes to the page that holds it, part3_sockets/server.cpp#L42 to that
// source page, another markdown file becomes a page of its own, anything else (a chart) is copied.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { html as diffToHtml } from 'diff2html';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const SITE = path.join(ROOT, 'site');
const MODULES = path.join(HERE, 'node_modules');
const warn = message => console.warn(`make site: ${message}`);

// ---- pandoc: markdown to its syntax tree (JSON), and a tree to a page ---------------------------
// (MAKEFLAGS emptied: the make this runs is one of its own, not a job of the make that ran us.)
const run = (program, args, input) =>
  execFileSync(program, args, { cwd: ROOT, input, maxBuffer: 1 << 28, env: { ...process.env, MAKEFLAGS: '' } })
    .toString();
const readMarkdown = file => JSON.parse(run('pandoc', ['--from=gfm', '--to=json', file]));
let apiVersion;  // pandoc's, taken from the first tree it writes

const escapeHtml = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const rel = (from, to) => path.posix.relative(path.posix.dirname(from), to) || path.posix.basename(to);

// A page of the site, through page.html; vars fill its navigation (their values are HTML).
function render(page, title, blocks, vars = {}, args = []) {
  vars = { root: '../'.repeat(page.split('/').length - 1), course: escapeHtml(course), ...vars };
  const options = Object.entries(vars).flatMap(([name, value]) => ['-V', `${name}=${value}`]);
  return run('pandoc', ['--from=json', '--to=html5', `--template=${HERE}/page.html`, `--metadata=pagetitle:${title}`,
                        ...options, ...args], JSON.stringify({ 'pandoc-api-version': apiVersion, meta: {}, blocks }));
}
function write(page, html) {
  fs.mkdirSync(path.dirname(path.join(SITE, page)), { recursive: true });
  fs.writeFileSync(path.join(SITE, page), html);
}

// ---- the tree ---------------------------------------------------------------------------------
function walk(node, visit) {
  if (Array.isArray(node)) node.forEach(child => walk(child, visit));
  else if (node && typeof node === 'object') { visit(node); walk(node.c, visit); }
}
function text(inlines) {
  let out = '';
  walk(inlines, n => { out += n.t === 'Str' ? n.c : n.t === 'Code' ? n.c[1] : /Space|Break/.test(n.t) ? ' ' : ''; });
  return out;
}
// HTML comments (the markers of the text checker, say) are for the source alone.
const isComment = n => /^Raw/.test(n?.t) && n.c[0] === 'html' && /^\s*<!--[\s\S]*-->\s*$/.test(n.c[1]);
function dropComments(node) {
  if (Array.isArray(node)) return node.filter(n => !isComment(n)).map(dropComments);
  if (node && typeof node === 'object' && 'c' in node) node.c = dropComments(node.c);
  return node;
}
// The ids a piece of the tree defines: headings', and any attribute's or raw HTML's.
function ids(blocks) {
  const found = [];
  walk(blocks, n => {
    const attr = n.t === 'Header' ? n.c[1] : ['CodeBlock', 'Div', 'Span', 'Table', 'Image', 'Link'].includes(n.t) ? n.c[0] : null;
    if (attr?.[0]) found.push(attr[0]);
    if (/^Raw/.test(n.t)) for (const m of n.c[1].matchAll(/\b(?:id|name)="([^"]+)"/g)) found.push(m[1]);
  });
  return found;
}

// ---- the source files, each a page -----------------------------------------------------------
const LANGUAGE = { '.cpp': 'cpp', '.hpp': 'cpp', '.c': 'c', '.h': 'c', '.py': 'python' };
const sitePath = file => file.replace(/^part(\d+)_[^/]*\//, 'part$1/') + '.html';  // part3_sockets/ -> part3/
const sources = run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'common', 'part[0-9]_*'])
  .split('\n').filter(file => LANGUAGE[path.extname(file)] && fs.existsSync(path.join(ROOT, file)));
const sourcePage = new Map(sources.map(file => [file, sitePath(file)]));
const stageFolder = n => sources.find(file => file.startsWith(`part${n}_`))?.split('/')[0];

// ---- NOTES.md, cut into chapters at its level-2 headings ---------------------------------------
const notes = readMarkdown('NOTES.md');
apiVersion = notes['pandoc-api-version'];
const opening = [];
const chapters = [];
for (const block of dropComments(notes.blocks)) {
  if (block.t === 'Header' && block.c[0] === 2) chapters.push({ id: block.c[1][0], title: text(block.c[2]), blocks: [block] });
  else (chapters.at(-1)?.blocks ?? opening).push(block);
}
for (const blocks of [opening, ...chapters.map(c => c.blocks)])
  while (blocks.at(-1)?.t === 'HorizontalRule') blocks.pop();  // the rule before the next chapter

const h1 = opening.find(b => b.t === 'Header' && b.c[0] === 1);
const course = h1 ? text(h1.c[2]) : 'NOTES.md';
// Chapters before Part 1 join the opening on the index; Part N is partN.html; the rest are named
// after their heading.
const firstPart = chapters.findIndex(c => /^Part \d+\b/.test(c.title));
chapters.forEach((c, i) => {
  c.part = Number(c.title.match(/^Part (\d+)\b/)?.[1]) || null;
  c.page = c.part ? `part${c.part}.html` : i < firstPart || firstPart < 0 ? 'index.html' : `${c.id}.html`;
});
const pageOf = new Map(ids(opening).map(id => [id, 'index.html']));
for (const c of chapters) for (const id of ids(c.blocks)) pageOf.set(id, c.page);

// ---- links: where each leads on the site ---------------------------------------------------------
const otherPages = new Map();  // markdown files linked to: file -> page
function siteTarget(url, doc, page) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;  // http:, mailto: and the like
  const [name, fragment] = url.split(/#(.*)/s);
  const hash = fragment === undefined ? '' : `#${fragment}`;
  const file = name ? path.posix.normalize(path.posix.join(path.posix.dirname(doc), decodeURI(name))) : doc;
  if (file === 'NOTES.md') {
    const target = fragment ? pageOf.get(decodeURIComponent(fragment)) : 'index.html';
    if (!target) { warn(`${doc} links to NOTES.md${hash}, a heading it does not have`); return url; }
    return (target === page ? '' : rel(page, target)) + hash;
  }
  if (file === 'README.md') return rel(page, 'index.html') + hash;  // README's sections are on the index
  if (file === doc) return hash;
  if (sourcePage.has(file)) return rel(page, sourcePage.get(file)) + hash;
  if (!fs.existsSync(path.join(ROOT, file)) || fs.statSync(path.join(ROOT, file)).isDirectory()) {
    warn(`${doc} links to ${file}, which is no file the site can show`);
    return url;
  }
  if (file.endsWith('.md')) {
    if (!otherPages.has(file)) otherPages.set(file, sitePath(file));
    return rel(page, otherPages.get(file)) + hash;
  }
  fs.mkdirSync(path.dirname(path.join(SITE, file)), { recursive: true });
  fs.copyFileSync(path.join(ROOT, file), path.join(SITE, file));
  return rel(page, file) + hash;
}
function fixLinks(blocks, doc, page) {
  walk(blocks, n => { if (n.t === 'Link' || n.t === 'Image') n.c[2][0] = siteTarget(n.c[2][0], doc, page); });
  return blocks;
}

// ---- a stage's diff: what `make diff-N` prints, drawn side by side --------------------------------
const DIFF_OPTIONS = { outputFormat: 'side-by-side', drawFileList: true, matching: 'lines', diffStyle: 'word' };
function stageDiff(n, page) {
  const out = run('make', ['--silent', '--no-print-directory', `diff-${n}`, 'COLOR=never']);
  // A diff from git never holds an empty line: the first one ends the diffs, and make's note follows.
  const end = out.indexOf('\n\n');
  const note = end < 0 ? '' : escapeHtml(out.slice(end + 2).trim()).replace(/\S+/g, word => {
    const target = sourcePage.get(`${stageFolder(n)}/${word}`);
    return target ? `<a href="${rel(page, target)}">${word}</a>` : word;
  });
  return `<div class="diff" id="diff-${n}" data-stage="${n}">\n` +
         `<div class="diff-files">\n${diffToHtml(end < 0 ? out : out.slice(0, end + 1), DIFF_OPTIONS)}\n</div>\n` +
         (note ? `<p class="diff-note">${note}</p>\n` : '') + '</div>';
}
// Part N's page: its diff goes after the chapter's first block that shows `make diff-N` (typed
// alone or after a `$ ` prompt).
function withDiff(c) {
  const command = new RegExp(`^\\s*(\\$\\s+)?make diff-${c.part}\\b`, 'm');
  const at = c.blocks.findIndex(b => b.t === 'CodeBlock' && command.test(b.c[1]));
  if (at < 0) warn(`NOTES.md, Part ${c.part}: no code block shows \`make diff-${c.part}\`; its diff goes under the heading`);
  c.blocks.splice(at < 0 ? 1 : at + 1, 0, { t: 'RawBlock', c: ['html', stageDiff(c.part, c.page)] });
  return c.blocks;
}

// ---- the pages ------------------------------------------------------------------------------------
fs.rmSync(SITE, { recursive: true, force: true });
const link = (page, target, name) => ({ [`${name}-href`]: rel(page, target.page), [`${name}-title`]: escapeHtml(target.title) });

const readme = readMarkdown('README.md').blocks;
const readmeSections = readme.findIndex(b => b.t === 'Header' && b.c[0] === 2);
const index = {
  page: 'index.html', title: course,
  blocks: [...fixLinks(opening, 'NOTES.md', 'index.html'),
           ...chapters.filter(c => c.page === 'index.html').flatMap(c => fixLinks(c.blocks, 'NOTES.md', 'index.html')),
           ...(readmeSections < 0 ? [] : fixLinks(readme.slice(readmeSections), 'README.md', 'index.html'))],
};
const sequence = [index, ...chapters.filter(c => c.page !== 'index.html')];
write(index.page, render(index.page, course, index.blocks, link(index.page, sequence[1] ?? index, 'next')));
for (const [i, c] of sequence.entries()) {
  if (c === index) continue;
  const vars = { ...link(c.page, sequence[i - 1], 'prev'), ...(sequence[i + 1] && link(c.page, sequence[i + 1], 'next')) };
  const server = sourcePage.get(`${stageFolder(c.part)}/server.cpp`);
  if (c.part && server) Object.assign(vars, { 'source-href': rel(c.page, server), 'source-title': `${stageFolder(c.part)}/server.cpp` });
  if (c.part) vars.diff = 'true';
  const blocks = fixLinks(c.part ? withDiff(c) : c.blocks, 'NOTES.md', c.page);
  write(c.page, render(c.page, c.title, blocks, vars, ['--shift-heading-level-by=-1']));  // its ## is the page's <h1>
}

for (const [file, page] of sourcePage) {
  const code = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\n$/, '');
  const part = chapters.find(c => c.part && stageFolder(c.part) === file.split('/')[0]);
  const blocks = [{ t: 'Header', c: [1, ['', [], []], [{ t: 'Code', c: [['', [], []], file] }]] },
                  { t: 'CodeBlock', c: [['L', [LANGUAGE[path.extname(file)], 'numberLines'], []], code] }];
  // pandoc anchors line 42 as L-42; the site uses L42, as the code forges do, so that a link
  // in NOTES.md to part3_sockets/server.cpp#L42 means the same line on a forge and here.
  write(page, render(page, file, blocks, part ? link(page, part, 'up') : {}).replace(/(id="|href="#)L-(\d+)"/g, '$1L$2"'));
}

for (const [file, page] of otherPages) {  // grows while it runs, if these files link to more
  const blocks = fixLinks(dropComments(readMarkdown(file).blocks), file, page);
  const heading = blocks.find(b => b.t === 'Header');
  write(page, render(page, heading ? text(heading.c[2]) : file, blocks));
}

const ASSETS = {
  'site.css': `${HERE}/site.css`,
  'diff.js': `${HERE}/diff.js`,
  'diff2html.min.css': `${MODULES}/diff2html/bundles/css/diff2html.min.css`,
  'diff2html-ui-slim.min.js': `${MODULES}/diff2html/bundles/js/diff2html-ui-slim.min.js`,
  'highlight-github.min.css': `${MODULES}/highlight.js/styles/github.min.css`,
};
fs.mkdirSync(path.join(SITE, 'assets'));
for (const [name, from] of Object.entries(ASSETS)) fs.copyFileSync(from, path.join(SITE, 'assets', name));

console.log(`site/: ${sequence.length} pages of the course, ${sourcePage.size} source files, ${otherPages.size} other ` +
            `page(s); open site/index.html`);
