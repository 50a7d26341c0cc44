/**
 * The shape of a `POST /topic/${topic}` request, checked before its token
 * (code 10001 with a reason): the topic path (no `.` or `..` levels, no NUL,
 * no escaped `/`, valid percent-escapes) and the Content-Type. Pure.
 */

/** The only media type a publish may carry (Alibaba's newer documents). */
export const PUBLISH_CONTENT_TYPE = "application/octet-stream"

/**
 * Why a raw topic path (as received, after `/topic`) is refused, or
 * undefined. Levels are percent-decoded for the check only: `%2e%2e` is a
 * `..` level, `%00` a NUL, `%2F` an escaped `/`.
 */
export function topicPathProblem(topic: string): string | undefined {
    if (topic.includes("\0")) return "the topic contains a NUL character"
    for (const m of topic.matchAll(/%(.{0,2})/gs))
        if (!/^[0-9a-fA-F]{2}$/.test(m[1]))
            return "the topic has a bad percent-escape"
    if (/%00/.test(topic)) return "the topic contains a NUL character (%00)"
    if (/%2f/i.test(topic)) return "the topic contains an escaped / (%2F)"
    for (const level of topic.split("/")) {
        const decoded = level.replace(/%2e/gi, ".")
        if (decoded === "." || decoded === "..")
            return `the topic contains a ${decoded} level`
    }
    return undefined
}

/**
 * Why a publish's Content-Type header(s) are refused, or undefined. The
 * media type must be application/octet-stream, compared case-insensitively
 * (RFC 9110); parameters (`; charset=...`) are refused, since Alibaba's
 * documents name the bare type; so are a missing or repeated header.
 */
export function publishContentTypeProblem(
    values: string[]
): string | undefined {
    if (values.length === 0)
        return `Content-Type must be ${PUBLISH_CONTENT_TYPE}, got none`
    if (values.length > 1)
        return `Content-Type must be sent once, got ${values.length} headers`
    const v = values[0].trim()
    if (v.toLowerCase() === PUBLISH_CONTENT_TYPE) return undefined
    const shown = v.length > 64 ? `${v.slice(0, 64)}...` : v
    return v.split(";")[0].trim().toLowerCase() === PUBLISH_CONTENT_TYPE
        ? `Content-Type must be ${PUBLISH_CONTENT_TYPE} without parameters, got ${JSON.stringify(shown)}`
        : `Content-Type must be ${PUBLISH_CONTENT_TYPE}, got ${JSON.stringify(shown)}`
}

/** Every value of a header in a request's raw header list (name case-insensitive). */
export function headerValues(rawHeaders: string[], name: string): string[] {
    const out: string[] = []
    const lower = name.toLowerCase()
    for (let i = 0; i + 1 < rawHeaders.length; i += 2)
        if (rawHeaders[i].toLowerCase() === lower) out.push(rawHeaders[i + 1])
    return out
}
