/** A CLI subcommand: `run` returns the process exit code (see EXIT in main.ts). */
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}
