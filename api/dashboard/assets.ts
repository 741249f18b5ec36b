// Where the dashboard's files are: the static folder beside this module (from source or dist/) and uPlot from
// node_modules, served by the API itself so the dashboard works without any CDN.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function staticDir(): string {
  // tsc does not copy non-TS files to dist/: fall back to the source tree's folder.
  const candidates = [path.join(here, 'static'), path.join(here, '../../../api/dashboard/static')];
  return candidates.find((d) => existsSync(path.join(d, 'index.html'))) ?? path.join(here, 'static');
}

export const DASHBOARD_DIR = staticDir();
export const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));
