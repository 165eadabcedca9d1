import { CONTROL_OR_FORMAT } from '../core/control-characters.ts';

/**
 * One line the CLI composed, as a terminal may show it: every control or format character
 * becomes a space. Check reasons, verdicts and archived records quote signed, attacker-chosen
 * text (a builder id, a source URI, a verifier id); a CR, an escape sequence, a newline or a
 * bidirectional override in it would otherwise rewrite or forge lines of the operator's
 * terminal or CI log (docs/security-model.md#terminal-output). JSON output needs no such
 * step: JSON.stringify escapes every control character and keeps the text exact.
 */
export function terminalSafe(line: string): string {
  return line.replace(CONTROL_OR_FORMAT, ' ');
}
