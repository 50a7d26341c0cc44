/**
 * The JWT form of a device token, as Alibaba's 2017 document and C SDK show
 * it (161 characters for a 13-digit expiry):
 * base64url(`{"type":"JWT","alg":"hmacsha1"}`) . base64url(`{"expire":<ms>,
 * "token":"<32 hex>"}`) . base64url(HMAC-SHA1 of the first two parts with a
 * server key), without padding. Pure: the caller passes key, expiry and id.
 */
import { createHmac } from "node:crypto"

/** The header every JWT-form token carries, byte for byte as Alibaba's. */
export const JWT_HEADER = '{"type":"JWT","alg":"hmacsha1"}'

/** What a JWT-form token says. */
export interface JwtTokenClaims {
    /** expiry, ms since the epoch */
    expire: number
    /** 32 lower-case hex digits */
    token: string
}

/** Builds the JWT-form token for `claims`, signed with `key`. */
export function buildJwtToken(claims: JwtTokenClaims, key: Buffer): string {
    if (!Number.isSafeInteger(claims.expire) || claims.expire < 0)
        throw new RangeError("expire must be a whole number of ms")
    if (!/^[0-9a-f]{32}$/.test(claims.token))
        throw new RangeError("token must be 32 lower-case hex digits")
    const head = Buffer.from(JWT_HEADER).toString("base64url")
    const payload = Buffer.from(
        `{"expire":${claims.expire},"token":"${claims.token}"}`
    ).toString("base64url")
    const signed = `${head}.${payload}`
    const sig = createHmac("sha1", key).update(signed).digest("base64url")
    return `${signed}.${sig}`
}

/**
 * The three parts of a JWT-form token decoded (header and payload as text),
 * or undefined when it is not three base64url parts. Does not verify: the
 * platform checks a token by exact string.
 */
export function decodeJwtToken(
    token: string
): { header: string; payload: string; signature: Buffer } | undefined {
    const parts = token.split(".")
    if (parts.length !== 3 || parts.some(p => !/^[A-Za-z0-9_-]+$/.test(p)))
        return undefined
    const [h, p, s] = parts.map(x => Buffer.from(x, "base64url"))
    return {
        header: h.toString("utf8"),
        payload: p.toString("utf8"),
        signature: s,
    }
}
