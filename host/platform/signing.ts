/**
 * The `/auth` signature: the content to sign (spec: every submitted
 * parameter except version, sign and signmethod, sorted by name and
 * concatenated as name+value without delimiters) and the HMAC over it,
 * computed with Node's `crypto` (the independent oracle for the device's
 * own hashing).
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/** Sign methods the platform accepts (hmacsha256 beyond the spec's two). */
export const SIGN_METHODS = ["hmacmd5", "hmacsha1", "hmacsha256"] as const
export type SignMethod = (typeof SIGN_METHODS)[number]

/** The parameters that take part in the signature. */
export const SIGNED_PARAMS = [
    "clientId",
    "deviceName",
    "productKey",
    "timestamp",
] as const

export interface SignedParams {
    productKey: string
    deviceName: string
    clientId: string
    /** milliseconds since the epoch, as sent; left out of the content when absent */
    timestamp?: string
}

/** `clientId<v>deviceName<v>productKey<v>[timestamp<v>]`, names sorted. */
export function contentToSign(p: SignedParams): string {
    const rec = p as unknown as Record<string, string | undefined>
    return [...SIGNED_PARAMS]
        .sort()
        .filter(k => rec[k] !== undefined)
        .map(k => k + rec[k])
        .join("")
}

const ALGO: Record<SignMethod, string> = {
    hmacmd5: "md5",
    hmacsha1: "sha1",
    hmacsha256: "sha256",
}

/** Lower-case hex HMAC of `content` keyed with the device secret. */
export function computeSign(
    method: SignMethod,
    secret: string,
    content: string
): string {
    return createHmac(ALGO[method], Buffer.from(secret, "utf8"))
        .update(Buffer.from(content, "utf8"))
        .digest("hex")
}

/** Compares two hex signatures, ignoring case, in constant time. */
export function signaturesMatch(expectedHex: string, givenHex: string) {
    const a = Buffer.from(expectedHex.toLowerCase(), "utf8")
    const b = Buffer.from(givenHex.toLowerCase(), "utf8")
    return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Builds a complete, correctly signed `/auth` body object (what a device
 * would send). Handy for tests and host tools.
 */
export function signedAuthBody(opts: {
    productKey: string
    deviceName: string
    deviceSecret: string
    clientId?: string
    signmethod?: SignMethod
    timestamp?: string | number
    version?: string
}) {
    const method = opts.signmethod ?? "hmacsha1"
    const p: SignedParams = {
        productKey: opts.productKey,
        deviceName: opts.deviceName,
        clientId: opts.clientId ?? `${opts.productKey}.${opts.deviceName}`,
    }
    if (opts.timestamp !== undefined) p.timestamp = String(opts.timestamp)
    const body: Record<string, string> = {}
    if (opts.version !== undefined) body.version = opts.version
    Object.assign(body, p)
    body.signmethod = method
    body.sign = computeSign(method, opts.deviceSecret, contentToSign(p))
    return body
}
