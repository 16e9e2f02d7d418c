// tools/site/check.mjs: opens every page of site/ in headless Chromium, at a phone's width, and
// fails on what a reader would trip over: a link or #anchor that leads nowhere, an error in the
// console, a request for anything but a file (nothing may leave the machine), a part page whose
// diff is not the one `make diff-N` prints (its files, its added and removed lines, each side by
// side and coloured), or a page wider than the screen outside the boxes that scroll by themselves.
// Run by `make site-test`, after `make site`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SITE = path.join(ROOT, 'site');
const PHONE = { width: 360, height: 740 };
const LOCAL = /^(file|data|blob|about):/;  // what a page may load; anything else would leave the machine

const pages = fs.readdirSync(SITE, { recursive: true }).filter(f => f.endsWith('.html')).sort();
const problems = new Map(pages.map(page => [page, []]));
let current;  // the page being opened: what the browser reports belongs to it
const fail = (page, what) => problems.get(page).push(what);

// What `make diff-N` prints: how many files, and how many lines it adds and removes.
function expectedDiff(n) {
  const out = execFileSync('make', ['--silent', '--no-print-directory', `diff-${n}`, 'COLOR=never'],
                           { cwd: ROOT, maxBuffer: 1 << 28, env: { ...process.env, MAKEFLAGS: '' } }).toString();
  const count = { files: 0, added: 0, removed: 0 };
  let inHunk = false;
  for (const line of out.split('\n')) {
    if (line.startsWith('diff --git ')) { count.files++; inHunk = false; }
    else if (line.startsWith('@@ ')) inHunk = true;
    else if (inHunk && line[0] === '+') count.added++;
    else if (inHunk && line[0] === '-') count.removed++;
  }
  return count;
}

// Runs inside each page: its ids and links, what is wider than the screen, and what its diff shows.
function inspect(screenWidth) {
  const tooWide = [];
  const visit = element => {
    const style = getComputedStyle(element);
    if (element.getBoundingClientRect().right > screenWidth + 1) {
      tooWide.push(`<${element.localName} class="${element.className}">`);
      return;
    }
    if (/auto|scroll/.test(style.overflowX) && element !== document.body) return;  // scrolls by itself
    for (const child of element.children) visit(child);
  };
  visit(document.body);

  const diff = document.querySelector('.diff');
  const cells = kind => diff.querySelectorAll(`td.d2h-${kind}:not(.d2h-code-side-linenumber)`);
  const colour = kind => cells(kind).length ? getComputedStyle(cells(kind)[0]).backgroundColor : null;
  return {
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name')),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    width: innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    tooWide,
    diff: diff && {
      stage: Number(diff.dataset.stage),
      files: diff.querySelectorAll('.d2h-file-wrapper').length,
      sides: diff.querySelectorAll('.d2h-file-side-diff').length,
      added: cells('ins').length,
      removed: cells('del').length,
      addedColour: colour('ins'),
      removedColour: colour('del'),
      highlighted: diff.querySelectorAll('.d2h-code-line-ctn.hljs').length,
    },
  };
}

function checkDiff(page, diff) {
  const stage = Number(page.match(/^part(\d+)\.html$/)?.[1]);
  if (!stage) return;
  if (!diff || diff.stage !== stage) return fail(page, `no diff of stage ${stage}`);
  const want = expectedDiff(stage);
  for (const what of ['files', 'added', 'removed'])
    if (diff[what] !== want[what]) fail(page, `the diff shows ${diff[what]} ${what}, make diff-${stage} ${want[what]}`);
  if (diff.sides !== 2 * diff.files) fail(page, `the diff is not side by side (${diff.sides} sides, ${diff.files} files)`);
  const plain = ['rgba(0, 0, 0, 0)', 'rgb(255, 255, 255)'];
  if (plain.includes(diff.addedColour) || (diff.removed && (plain.includes(diff.removedColour) ||
                                                            diff.removedColour === diff.addedColour)))
    fail(page, `added and removed lines are not marked apart (${diff.addedColour}, ${diff.removedColour})`);
  if (!diff.highlighted) fail(page, 'the diff has no syntax highlighting');
}

const started = Date.now();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',  // Debian's
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});  // Playwright gives it a new, empty profile (--user-data-dir) of its own
const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
context.on('request', request => { if (!LOCAL.test(request.url())) fail(current, `requested ${request.url()}`); });
context.on('requestfailed', request => {
  if (LOCAL.test(request.url())) fail(current, `could not load ${request.url()}: ${request.failure().errorText}`);
});
await context.route(url => !LOCAL.test(url.href), route => route.abort());

const seen = new Map();
for (const page of pages) {
  current = page;
  const tab = await context.newPage();
  tab.on('console', message => { if (message.type() === 'error') fail(page, `console: ${message.text()}`); });
  tab.on('pageerror', error => fail(page, `script error: ${error.message}`));
  await tab.goto(pathToFileURL(path.join(SITE, page)).href, { waitUntil: 'load' });
  const found = await tab.evaluate(inspect, PHONE.width);
  await tab.close();
  seen.set(page, found);
  // A page too wide for the phone is zoomed out to fit (and laid out wider), or scrolls sideways.
  if (found.width !== PHONE.width || found.scrollWidth > PHONE.width || found.tooWide.length)
    fail(page, `wider than a phone's ${PHONE.width} px (laid out at ${found.width}, scrolls to ${found.scrollWidth}): ` +
               found.tooWide.slice(0, 3).join(', '));
  checkDiff(page, found.diff);
}
await browser.close();

// Every link to a file must reach a file of site/, and its #anchor an id of that page.
let links = 0;
for (const [page, { links: hrefs }] of seen) {
  for (const href of hrefs) {
    const url = new URL(href);
    if (url.protocol !== 'file:') continue;  // the course's own http://127.0.0.1:8888/... examples
    links++;
    const hash = decodeURIComponent(url.hash.slice(1));
    url.hash = '';
    const target = path.relative(SITE, fileURLToPath(url));
    if (target.startsWith('..') || !fs.existsSync(path.join(SITE, target))) fail(page, `links to ${target}, not in site/`);
    else if (hash && !seen.get(target)?.ids.includes(hash)) fail(page, `links to ${target}#${hash}, which has no such id`);
  }
}

let failed = 0;
for (const [page, found] of problems) {
  if (!found.length) continue;
  failed++;
  console.log(`${page}:\n  ${found.join('\n  ')}`);
}
console.log(`site-test: ${pages.length} pages and ${links} links in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`site-test: ${pages.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
