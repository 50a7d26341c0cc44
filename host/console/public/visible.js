// Device text made safe to show: controls, bidirectional overrides and
// other invisible format characters are written as escapes (`\u202E`), so
// a name cannot reorder or hide what is shown next to it. The same rule as
// host/lib/visible-text.ts (a test checks they agree on every character).

/** The characters shown as escapes (Unicode general categories Cc, Cf, Zl, Zp, Cs). */
export const HIDDEN_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

/** `text` with each hidden character written as `\uXXXX` (or `\u{XXXXX}`). @param {unknown} text */
export function visible(text) {
    return String(text).replace(HIDDEN_CHARS, c => {
        const n = /** @type {number} */ (c.codePointAt(0))
        return n > 0xffff
            ? `\\u{${n.toString(16).toUpperCase()}}`
            : `\\u${n.toString(16).toUpperCase().padStart(4, "0")}`
    })
}
