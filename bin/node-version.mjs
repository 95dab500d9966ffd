// The Lambdas run on nodejs24.x, and `npm ci` installs the same Node 24 into node_modules/.bin
// (the `node` devDependency), which npm scripts and npx put first on the PATH. A run on another
// Node (e.g. `node bin/respondent-notifier.mjs` with a system Node 20) stops here with the fix
// instead of failing later on a missing built-in such as node:sqlite.
const REQUIRED_MAJOR = 24;

export function assertSupportedNode(command) {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= REQUIRED_MAJOR) return;
  process.stderr.write(
    `${command}: needs Node ${REQUIRED_MAJOR} or newer, this is Node ${process.versions.node}: run it through npm (npm start, npm test, npx respondent-notifier ...), which uses the Node ${REQUIRED_MAJOR} that npm ci installed, or install Node ${REQUIRED_MAJOR}\n`,
  );
  process.exit(2);
}
