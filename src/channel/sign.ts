import { hmac, HmacAlgorithm, toHex } from "../crypto"
import { parseDigits } from "../digits"

/** Sign methods the platform accepts for `POST /auth`. */
export type SignMethod = "hmacmd5" | "hmacsha1" | "hmacsha256"

/** Parameters of `POST /auth` that take part in the signature. */
export interface AuthParams {
    productKey: string
    deviceName: string
    /** Any string up to 64 characters; often `productKey.deviceName`. */
    clientId: string
    /** Milliseconds since the epoch, as decimal digits; optional. */
    timestamp?: string
}

/** Longest `clientId` the platform accepts. */
export const MAX_CLIENT_ID_LENGTH = 64

/** Parameters that the spec leaves out of the content to sign. */
const UNSIGNED = ["version", "sign", "signmethod"]

/** The hash behind each sign method. */
export function signAlgorithm(method: SignMethod): HmacAlgorithm {
    if (method === "hmacmd5") return "md5"
    if (method === "hmacsha1") return "sha1"
    if (method === "hmacsha256") return "sha256"
    throw new TypeError(
        `unknown sign method "${method}": use hmacmd5, hmacsha1 or hmacsha256`
    )
}

/**
 * Throws an error naming the problem when the parameters cannot be signed:
 * a missing `productKey`, `deviceName` or `clientId`, or a `clientId` over
 * 64 characters.
 */
export function checkAuthParams(params: AuthParams) {
    for (const name of ["productKey", "deviceName", "clientId"]) {
        const value = (params as any)[name]
        if (typeof value !== "string" || !value)
            throw new TypeError(`auth parameter ${name} is missing`)
    }
    if (params.clientId.length > MAX_CLIENT_ID_LENGTH)
        throw new TypeError(
            `auth parameter clientId is ${params.clientId.length} characters; at most ${MAX_CLIENT_ID_LENGTH} are allowed`
        )
    if (
        params.timestamp !== undefined &&
        isNaN(parseDigits(params.timestamp, 1, 20))
    )
        throw new TypeError(`auth parameter timestamp must be decimal digits`)
}

/** Orders strings by UTF-16 code units (the VM's `<` does not compare strings). */
function compareCodeUnits(a: string, b: string): number {
    const n = Math.min(a.length, b.length)
    for (let i = 0; i < n; ++i) {
        const d = a.charCodeAt(i) - b.charCodeAt(i)
        if (d !== 0) return d
    }
    return a.length - b.length
}

/**
 * The content to sign: every parameter except `version`, `sign` and
 * `signmethod`, sorted by name, each name followed by its value, with no
 * delimiter.
 */
export function contentToSign(params: AuthParams): string {
    const names = Object.keys(params).filter(
        name =>
            UNSIGNED.indexOf(name) < 0 && (params as any)[name] !== undefined
    )
    names.sort(compareCodeUnits)
    let content = ""
    for (const name of names) content += name + (params as any)[name]
    return content
}

/** The lower-case hex signature of `params` with the device secret. */
export async function signAuthParams(
    params: AuthParams,
    deviceSecret: string,
    method: SignMethod
): Promise<string> {
    checkAuthParams(params)
    const algo = signAlgorithm(method)
    if (!deviceSecret) throw new TypeError(`device secret is missing`)
    return toHex(await hmac(algo, deviceSecret, contentToSign(params)))
}
