/**
 * How the admin API's record lists (`GET /messages`, `/informs`, `/auths`,
 * `/requests`) are read a page at a time: the query parameters, their
 * checks, and the `Link` header that leads to the neighbouring pages. Pure.
 */

/** The lists that are read a page at a time. */
export type RecordList = "messages" | "informs" | "auths" | "requests"
export const RECORD_LISTS: readonly RecordList[] = [
    "messages",
    "informs",
    "auths",
    "requests",
]

/** The most records a page holds, and the default. */
export const MAX_PAGE_RECORDS = 1000
/** About the most bytes of JSON a page holds (one record always fits). */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024

/** Which records of a list to read. */
export interface ListQuery {
    /** records after this seq, oldest first from there */
    since?: number
    /** records before this seq; without `since`, the newest of them */
    before?: number
    /** at most this many (1..1000, default 1000) */
    limit?: number
    /** only this product's records (not on requests) */
    productKey?: string
    /** only this device name's records (not on requests) */
    deviceName?: string
}

/** One page of a list, oldest first. */
export interface ListPage<V = unknown> {
    records: V[]
    /** records of the query kept before the page's first */
    earlier: boolean
    /** records of the query kept after the page's last */
    later: boolean
    /** records the list dropped (oldest first) since the start or the last reset */
    dropped: number
}

/** Thrown for query parameters that make no sense (the admin answers 400). */
export class ListQueryError extends Error {}

const PARAMS = ["since", "before", "limit", "productKey", "deviceName"]

function seqParam(name: string, v: string): number {
    const n = Number(v)
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n))
        throw new ListQueryError(
            `${name} must be a record's seq (a whole number >= 0), got ${JSON.stringify(v.slice(0, 40))}`
        )
    return n
}

/** Reads and checks a list's query parameters. */
export function parseListQuery(
    list: RecordList,
    params: URLSearchParams
): ListQuery {
    const q: ListQuery = {}
    for (const k of new Set(params.keys())) {
        if (!PARAMS.includes(k))
            throw new ListQueryError(
                `unknown parameter ${JSON.stringify(k.slice(0, 40))}: ${list} takes ${PARAMS.join(", ")}`
            )
        if (params.getAll(k).length > 1)
            throw new ListQueryError(`${k} may be given once`)
    }
    const since = params.get("since")
    // since=0 reads from the first record, as it always did
    if (since !== null) q.since = seqParam("since", since)
    const before = params.get("before")
    if (before !== null) q.before = seqParam("before", before)
    const limit = params.get("limit")
    if (limit !== null) {
        const n = Number(limit)
        if (!/^\d+$/.test(limit) || n < 1 || n > MAX_PAGE_RECORDS)
            throw new ListQueryError(
                `limit must be a whole number in 1..${MAX_PAGE_RECORDS}`
            )
        q.limit = n
    }
    for (const k of ["productKey", "deviceName"] as const) {
        const v = params.get(k)
        if (v === null) continue
        if (list === "requests")
            throw new ListQueryError(
                `requests cannot be filtered by ${k} (messages, informs and auths can)`
            )
        q[k] = v
    }
    return q
}

/**
 * The `Link` header value of a page (RFC 8288), or undefined: `rel="next"`
 * (records after the page, `since` its last seq) and `rel="prev"` (records
 * before it, `before` its first seq), both keeping the query's filters.
 */
export function pageLinks(
    path: string,
    q: ListQuery,
    page: ListPage<{ seq: number }>
): string | undefined {
    const recs = page.records
    if (!recs.length) return undefined
    const link = (rel: string, key: "since" | "before", seq: number) => {
        const p = new URLSearchParams()
        p.set(key, String(seq))
        if (q.limit !== undefined) p.set("limit", String(q.limit))
        if (q.productKey !== undefined) p.set("productKey", q.productKey)
        if (q.deviceName !== undefined) p.set("deviceName", q.deviceName)
        return `<${path}?${p}>; rel="${rel}"`
    }
    const out: string[] = []
    if (page.later) out.push(link("next", "since", recs[recs.length - 1].seq))
    if (page.earlier) out.push(link("prev", "before", recs[0].seq))
    return out.length ? out.join(", ") : undefined
}
