/**
 * Text from devices and operators made safe to show: every character that
 * moves or hides what is around it (C0 and C1 controls, DEL, bidirectional
 * overrides and isolates, zero-width and other format characters, line and
 * paragraph separators, lone surrogates) is written as its escape,
 * `\u202E`, so a name cannot reorder, hide or restyle what a page or a
 * terminal shows next to it. The page uses the same rule
 * (host/console/public/visible.js).
 */

/** The characters shown as escapes (Unicode general categories Cc, Cf, Zl, Zp, Cs). */
export const HIDDEN_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

/** `text` with each hidden character written as `\uXXXX` (or `\u{XXXXX}`). */
export function visibleText(text: string): string {
    return String(text).replace(HIDDEN_CHARS, c => {
        const n = c.codePointAt(0)!
        return n > 0xffff
            ? `\\u{${n.toString(16).toUpperCase()}}`
            : `\\u${n.toString(16).toUpperCase().padStart(4, "0")}`
    })
}
