import { packageFile } from '../../loaders/package-root.ts';
import { CONFIG_FILE_LIMIT_BYTES, readConfigText } from '../../loaders/read-file-capped.ts';
import type { Command } from './command.ts';

export const versionCommand: Command = {
  async run() {
    const pkg = JSON.parse(
      readConfigText(packageFile('package.json'), CONFIG_FILE_LIMIT_BYTES, 'package.json'),
    ) as {
      version: string;
    };
    console.log(`slsa-gate ${pkg.version} (node ${process.versions.node})`);
    return 0;
  },
};
