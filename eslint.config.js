// ESLint for the web map's own scripts (web_map/static/gridmap/), run by `make lint`.
//
// ESLint and its rule sets are devDependencies of package.json, installed with the browser
// assets by scripts/install-web-assets.sh under build/web-assets/node_modules (not beside this
// file), so they are required from there. The scripts are classic browser scripts: each is an
// IIFE that adds to the `GridMap` namespace on `window`; Leaflet (`L`) is loaded before them.
'use strict';

const path = require('node:path');
const { createRequire } = require('node:module');

const fromAssets = createRequire(path.join(__dirname, 'build', 'web-assets', 'package.json'));
const js = fromAssets('@eslint/js');
const globals = fromAssets('globals');

module.exports = [
  {
    // Copies of third-party files (vendor), installs and caches: not ours to lint.
    ignores: ['build/**', 'web_map/static/vendor/**', '.venv/**', 'node_modules/**'],
  },
  {
    files: ['web_map/static/gridmap/**/*.js'],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: 'script',
      globals: {
        ...globals.browser,
        // What the page loads before these scripts: Leaflet (Leaflet.VectorGrid adds to it).
        L: 'readonly',
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['eslint.config.js'],
    ...js.configs.recommended,
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
];
