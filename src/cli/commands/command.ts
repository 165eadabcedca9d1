/** A CLI subcommand: `run` returns the process exit code (src/cli/exit-codes.ts). */
export interface Command {
  run(args: string[]): Promise<number>;
}

/** A subcommand as listed: its one-line summary, and the module that implements it, loaded on use. */
export interface CommandEntry {
  summary: string;
  /** A server that runs until stopped (the worker, the API): it parses many documents, not one. */
  server?: true;
  load(): Promise<Command>;
}
