import { parseDigits } from "../digits"

/**
 * Longest token accepted. The platform's documents show 32 hex digits and
 * a 161-character JWT form (Alibaba's C SDK keeps 193 bytes for it); 512
 * leaves room for longer forms.
 */
export const MAX_TOKEN_LENGTH = 512
/** Share of a token's stated life after which it is renewed. */
export const RENEW_AT_LIFE = 0.9

/**
 * Null when `t` is acceptable as a token (1..512 characters of visible
 * ASCII, no space: it is sent as a header value), else the reason.
 */
export function tokenProblem(t: string): string {
    if (typeof t !== "string") return "token is not a string"
    if (!t.length || t.length > MAX_TOKEN_LENGTH)
        return `token length ${t.length} not in 1..${MAX_TOKEN_LENGTH}`
    for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i)
        if (c <= 32 || c >= 127)
            return "token has characters other than visible ASCII"
    }
    return null
}

/** A token shortened for logs: first and last 4 characters (2 when short). */
export function shortToken(t: string): string {
    if (typeof t !== "string" || !t.length) return "(none)"
    if (t.length >= 16) return t.slice(0, 4) + "..." + t.slice(t.length - 4)
    if (t.length >= 8) return t.slice(0, 2) + "..."
    return "..."
}

const B64URL =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/** base64url (RFC 4648 section 5, `+` and `/` also taken) to text; null when invalid. */
export function base64UrlText(s: string): string {
    const out = Buffer.alloc(((s.length * 3) >> 2) + 3)
    let n = 0
    let acc = 0
    let bits = 0
    for (let i = 0; i < s.length; i++) {
        const ch = s[i]
        let v = B64URL.indexOf(ch)
        if (v < 0 && ch === "+") v = 62
        if (v < 0 && ch === "/") v = 63
        if (v < 0) {
            if (ch === "=") break
            return null
        }
        acc = ((acc << 6) | v) & 0xffffff
        bits += 6
        if (bits >= 8) {
            bits -= 8
            out[n++] = (acc >> bits) & 255
        }
    }
    return out.slice(0, n).toString("utf-8")
}

/**
 * The expiry a JWT-form token states (`header.payload.signature`, the
 * payload `{"expire":<ms>,"token":"..."}`), in epoch milliseconds; NaN for
 * a token of another form. A value of 10 digits or fewer is taken as
 * seconds.
 */
export function tokenExpiry(token: string): number {
    const a = token.indexOf(".")
    const b = a < 0 ? -1 : token.indexOf(".", a + 1)
    if (a <= 0 || b < 0 || token.indexOf(".", b + 1) >= 0) return NaN
    const payload = base64UrlText(token.slice(a + 1, b))
    if (!payload) return NaN
    // the key where a key can stand: after `{` or `,` (and white space)
    let p = payload.indexOf('"expire"')
    while (p >= 0) {
        let k = p - 1
        while (k >= 0 && payload.charCodeAt(k) <= 32) k--
        let i = p + 8
        while (i < payload.length && payload.charCodeAt(i) <= 32) i++
        const before = k >= 0 ? payload[k] : ""
        if ((before === "{" || before === ",") && payload[i] === ":") {
            i++
            while (i < payload.length && payload.charCodeAt(i) <= 32) i++
            let j = i
            while (
                j < payload.length &&
                payload.charCodeAt(j) >= 48 &&
                payload.charCodeAt(j) <= 57
            )
                j++
            const v = parseDigits(payload.slice(i, j), 1, 15)
            if (isNaN(v)) return NaN
            return j - i <= 10 ? v * 1000 : v
        }
        p = payload.indexOf('"expire"', p + 8)
    }
    return NaN
}

/**
 * When a token received at `issuedAt` and stating `expire` (both epoch
 * ms) should be renewed: at {@link RENEW_AT_LIFE} of its life. NaN when
 * either is unknown or the token was already expired when it arrived
 * (then it is used until the platform refuses it).
 */
export function renewalTime(issuedAt: number, expire: number): number {
    if (!(issuedAt > 0) || !(expire > issuedAt)) return NaN
    return issuedAt + Math.floor(RENEW_AT_LIFE * (expire - issuedAt))
}
