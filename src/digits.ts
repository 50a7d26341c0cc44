/**
 * The value of `s` when it is `minLen..maxLen` ASCII decimal digits (no
 * sign, no spaces, no `0x`), else NaN. The runtime's `parseInt` accepts
 * `0x1A` and trailing garbage, so protocol fields are read with this.
 */
export function parseDigits(s: string, minLen: number, maxLen: number): number {
    if (s.length < minLen || s.length > maxLen) return NaN
    let v = 0
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i)
        if (c < 48 || c > 57) return NaN
        v = v * 10 + (c - 48)
    }
    return v
}
