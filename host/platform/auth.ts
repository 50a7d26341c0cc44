/**
 * Pure rules of `POST /auth`: parsing and validating the request (code
 * 10001) and checking device, timestamp window and signature (code 20000).
 * No I/O: the caller passes the body, the device's secret and the clock.
 */
import {
    SIGN_METHODS,
    computeSign,
    contentToSign,
    signaturesMatch,
    type SignMethod,
} from "./signing.ts"

/** The validated parameters of an `/auth` body. */
export interface AuthParams {
    productKey: string
    deviceName: string
    clientId: string
    sign: string
    signmethod: SignMethod
    version: string
    timestamp?: string
}

export type Outcome<T> = ({ code: 0 } & T) | { code: number; reason: string }

/** The longest clientId the platform accepts. */
export const MAX_CLIENT_ID = 64
/** How far a timestamp may lie from the server's clock, either side. */
export const TIMESTAMP_WINDOW_MS = 15 * 60 * 1000

/** True when the Content-Type's media type is application/json. */
export function isJsonContentType(ct: string | undefined) {
    return !!ct && ct.split(";")[0].trim().toLowerCase() === "application/json"
}

function fail(reason: string) {
    return { code: 10001, reason }
}

/** Parses and validates an `/auth` request; 10001 with a reason if bad. */
export function parseAuthRequest(
    contentType: string | undefined,
    body: Buffer
): Outcome<{ params: AuthParams }> {
    if (!isJsonContentType(contentType))
        return fail(
            `Content-Type must be application/json, got ${contentType === undefined ? "none" : JSON.stringify(contentType.slice(0, 64))}`
        )
    let obj: unknown
    try {
        obj = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body))
    } catch {
        return fail("body is not JSON")
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj))
        return fail("body is not a JSON object")
    const o = obj as Record<string, unknown>
    for (const k of ["productKey", "deviceName", "clientId", "sign"]) {
        if (o[k] === undefined) return fail(`${k} is missing`)
        if (typeof o[k] !== "string" || !o[k])
            return fail(`${k} must be a non-empty string`)
    }
    const clientId = o.clientId as string
    if (clientId.length > MAX_CLIENT_ID)
        return fail(
            `clientId is ${clientId.length} characters, at most ${MAX_CLIENT_ID}`
        )
    let signmethod: SignMethod = "hmacmd5"
    if (o.signmethod !== undefined) {
        if (!SIGN_METHODS.includes(o.signmethod as SignMethod))
            return fail(`signmethod must be one of ${SIGN_METHODS.join(", ")}`)
        signmethod = o.signmethod as SignMethod
    }
    let version = "default"
    if (o.version !== undefined) {
        if (typeof o.version !== "string")
            return fail("version must be a string")
        if (o.version) version = o.version
    }
    let timestamp: string | undefined
    if (o.timestamp !== undefined) {
        if (
            typeof o.timestamp === "number" &&
            Number.isSafeInteger(o.timestamp)
        )
            timestamp = String(o.timestamp)
        else if (
            typeof o.timestamp === "string" &&
            /^\d{1,16}$/.test(o.timestamp)
        )
            timestamp = o.timestamp
        else
            return fail(
                "timestamp must be milliseconds since the epoch (digits)"
            )
    }
    return {
        code: 0,
        params: {
            productKey: o.productKey as string,
            deviceName: o.deviceName as string,
            clientId,
            sign: o.sign as string,
            signmethod,
            version,
            timestamp,
        },
    }
}

/**
 * Checks device, timestamp window (inclusive, both sides) and signature.
 * `secret` is undefined for an unknown device.
 */
export function verifyAuth(
    p: AuthParams,
    secret: string | undefined,
    nowMs: number,
    windowMs = TIMESTAMP_WINDOW_MS
): Outcome<{}> {
    if (secret === undefined)
        return {
            code: 20000,
            reason: `unknown device ${p.productKey}/${p.deviceName}`,
        }
    if (p.timestamp !== undefined) {
        const skew = Number(p.timestamp) - nowMs
        if (Math.abs(skew) > windowMs)
            return {
                code: 20000,
                reason: `timestamp is ${Math.round(skew / 1000)} s from the server's clock (window ±${windowMs / 1000} s)`,
            }
    }
    const expected = computeSign(p.signmethod, secret, contentToSign(p))
    if (!signaturesMatch(expected, p.sign))
        return { code: 20000, reason: `wrong signature (${p.signmethod})` }
    return { code: 0 }
}
