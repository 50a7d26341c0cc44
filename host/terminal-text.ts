/**
 * Text from peers (device ids, error strings, exception reports) made safe
 * to print on a terminal: every character that a terminal acts on instead
 * of showing is written as an escape, so a device cannot move the cursor,
 * recolour, retitle or clear the operator's terminal, forge a log line, or
 * reorder what is shown with bidirectional overrides. What is printed then
 * reads as the text received, byte for byte recoverable.
 */

/**
 * C0 controls (newline and tab too), DEL, C1 controls, the bidirectional
 * embeddings and overrides U+202A-U+202E, the isolates U+2066-U+2069, the
 * marks U+200E, U+200F and U+061C, and the backslash (so an escape in the
 * output always means one was made).
 */
const UNSAFE =
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g

/** `text` with every {@link UNSAFE} character escaped (`\n`, `\x1b`, `\u202e`, `\\`). */
export function terminalSafe(text: string): string {
    return text.replace(UNSAFE, c => {
        if (c === "\\") return "\\\\"
        if (c === "\n") return "\\n"
        if (c === "\r") return "\\r"
        if (c === "\t") return "\\t"
        const n = c.charCodeAt(0)
        return n <= 0xff
            ? `\\x${n.toString(16).padStart(2, "0")}`
            : `\\u${n.toString(16).padStart(4, "0")}`
    })
}
