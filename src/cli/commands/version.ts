import { readFileSync } from 'node:fs';
import type { Command } from './command.ts';

export const versionCommand: Command = {
  async run() {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    console.log(`slsa-gate ${pkg.version} (node ${process.versions.node})`);
    return 0;
  },
};
