/**
 * Text from peers (device ids, error strings, exception reports) made safe
 * to print on a terminal, so a device cannot move the cursor, recolour,
 * retitle or clear the operator's terminal, forge a log line, or reorder
 * what is shown with bidirectional overrides: the console's rule for
 * hidden characters (visible-text.ts), with each backslash doubled, so an
 * escape in the output always means one was made and what is printed reads
 * back as the text received.
 */
import { visibleText } from "./visible-text.ts"

/** `text` with hidden characters escaped (`\u001B`, `\u000A`, `\u202E`) and `\` as `\\`. */
export function terminalSafe(text: string): string {
    return visibleText(String(text).replace(/\\/g, "\\\\"))
}
