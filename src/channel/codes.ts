/** Platform result codes (spec: HTTPS device channel). */
export const CODE_OK = 0
export const CODE_COMMON_ERROR = 10000
export const CODE_PARAM_ERROR = 10001
export const CODE_AUTH_CHECK_ERROR = 20000
export const CODE_TOKEN_EXPIRED = 20001
export const CODE_TOKEN_NULL = 20002
export const CODE_CHECK_TOKEN_ERROR = 20003
export const CODE_UPDATE_SESSION_ERROR = 20004
export const CODE_PUBLISH_ERROR = 30001
export const CODE_TOO_MANY_REQUESTS = 40000

/**
 * What the client does next:
 * - `ok`: done
 * - `reauth`: the token is bad; authenticate again and resend once
 * - `retry`: transient; wait (exponential backoff) and try again
 * - `fatal`: retrying the same request cannot help (bad parameters,
 *   bad credentials, unexpected answer); report it
 */
export type Outcome = "ok" | "reauth" | "retry" | "fatal"

/**
 * Classifies one exchange from the HTTP status and the platform `code`
 * (undefined when the body was missing or not a valid platform response).
 * HTTP 5xx and 429 are retried whatever the body says.
 */
export function classify(httpStatus: number, code: number): Outcome {
    if (httpStatus >= 500 || httpStatus === 429) return "retry"
    if (code === undefined || code === null) {
        // no usable body: a 2xx without one is a broken answer, try later
        if (httpStatus >= 200 && httpStatus < 300) return "retry"
        return "fatal"
    }
    // otherwise the platform code decides (the platform answers HTTP 200)
    switch (code) {
        case CODE_OK:
            // success only on a 2xx
            return httpStatus >= 200 && httpStatus < 300 ? "ok" : "fatal"
        case CODE_TOKEN_EXPIRED:
        case CODE_TOKEN_NULL:
        case CODE_CHECK_TOKEN_ERROR:
            return "reauth"
        case CODE_COMMON_ERROR:
        case CODE_PUBLISH_ERROR:
        case CODE_TOO_MANY_REQUESTS:
        case CODE_UPDATE_SESSION_ERROR:
            return "retry"
        default:
            // 10001 param error, 20000 auth check error, unknown codes
            return "fatal"
    }
}

/** Short human name of a platform code for logs. */
export function codeName(code: number): string {
    switch (code) {
        case CODE_OK:
            return "success"
        case CODE_COMMON_ERROR:
            return "common error"
        case CODE_PARAM_ERROR:
            return "param error"
        case CODE_AUTH_CHECK_ERROR:
            return "auth check error"
        case CODE_TOKEN_EXPIRED:
            return "token is expired"
        case CODE_TOKEN_NULL:
            return "token is null"
        case CODE_CHECK_TOKEN_ERROR:
            return "check token error"
        case CODE_UPDATE_SESSION_ERROR:
            return "update session error"
        case CODE_PUBLISH_ERROR:
            return "publish message error"
        case CODE_TOO_MANY_REQUESTS:
            return "request too many"
        default:
            return "unknown code"
    }
}
