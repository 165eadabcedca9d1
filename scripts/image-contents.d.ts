// Types of scripts/image-contents.js (plain JavaScript: the Dockerfile's build stage runs it without tsx).
export interface AppFile {
  path: string;
  kind: 'file' | 'symlink';
  mode: number;
  size: number;
}
export function productionPackages(root?: string): string[];
export function appFiles(root?: string, arch?: string): AppFile[];
export function copyAppFiles(dest: string, root?: string, arch?: string): void;
