# Sourced after node-env.sh: installs npm dependencies exactly as locked when the installed tree
# differs from package-lock.json, then builds dist/ when a source is newer than it (scripts/build.js).
# The tree is compared by content (every locked, non-optional package installed at its locked
# version; npm records what it installed in node_modules/.package-lock.json), not by file times:
# a checkout or merge that rewrites package-lock.json with the same packages installs nothing.
deps_installed() {
  node -e '
    const { readFileSync } = require("node:fs");
    const read = (file) => JSON.parse(readFileSync(file, "utf8")).packages;
    let installed;
    try { installed = read("node_modules/.package-lock.json"); } catch { process.exit(1); }
    for (const [path, pkg] of Object.entries(read("package-lock.json"))) {
      if (path === "" || pkg.optional || pkg.link) continue;
      if (installed[path]?.version !== pkg.version) process.exit(1);
    }'
}
if ! (cd "$PROJECT_ROOT" && deps_installed); then
  (cd "$PROJECT_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
fi
