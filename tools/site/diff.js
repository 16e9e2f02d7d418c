// Brings each diff that build.mjs rendered to life with diff2html's own UI: syntax highlighting,
// a file list to open and close, both sides scrolling together, file names that stay in view.
for (const diff of document.querySelectorAll('.diff-files')) {
  new Diff2HtmlUI(diff, undefined, {
    highlight: true,
    synchronisedScroll: true,
    fileListToggle: true,
    fileListStartVisible: true,
    fileContentToggle: false,
    stickyFileHeaders: true,
  }).draw();
}
