import { readFileSync } from 'node:fs';
import { packageFile } from '../../loaders/package-root.ts';
import type { Command } from './command.ts';

export const versionCommand: Command = {
  async run() {
    const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as {
      version: string;
    };
    console.log(`slsa-gate ${pkg.version} (node ${process.versions.node})`);
    return 0;
  },
};
