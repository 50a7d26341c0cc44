/**
 * The IoT Platform HTTPS device channel emulator, as a library:
 *
 *     const p = await startPlatform({ devices: ["pk/dn/secret"] })
 *     // https://127.0.0.1:${p.port}, trust p.ca (or NODE_EXTRA_CA_CERTS=p.caFile)
 *     p.messages(); p.setFaults({ stall: 1 }); await p.close()
 *
 * The same state is served on the admin API (`p.adminUrl`).
 */
import type { Server } from "node:http"
import { join } from "node:path"
import { startAdmin } from "./admin.ts"
import type { Platform, StatsView } from "./platform.ts"
import { ensureTlsMaterial } from "./certs.ts"
import { requestTimeouts } from "./http-limits.ts"
import { durationProblem, type Faults, type FaultsInput } from "./faults.ts"
import { TOKEN_FORMS, type TokenForm } from "./tokens.ts"
import { TOKEN_TTL_7_DAYS, tokenTtlProblem } from "./token-ttl.ts"
import type { TopicClass, TopicPermission } from "./topics.ts"
import { Channel, HOST, MAX_PUBLISH_BYTES } from "./server.ts"
import {
    clockOffsetProblem,
    PlatformState,
    type AuthRecord,
    type Device,
    type RequestRecord,
    type Stats,
} from "./state.ts"
import {
    deviceViews,
    messageView,
    type DeviceView,
    type MessageView,
} from "./views.ts"
import {
    MAX_PAGE_BYTES,
    MAX_PAGE_RECORDS,
    type ListPage,
    type ListQuery,
    type RecordList,
} from "./list-page.ts"

export type { Platform, StatsView, ListPage, ListQuery, RecordList }
export type { Device, Faults, FaultsInput, Stats, AuthRecord, RequestRecord }
export type { DeviceView, MessageView, TokenForm }
export type { TopicClass, TopicPermission }
export { parseTopicsFile, DEFAULT_TOPIC_CLASSES } from "./topics.ts"
export { signedAuthBody, contentToSign, computeSign } from "./signing.ts"
export { MAX_PUBLISH_BYTES } from "./server.ts"
export {
    FIRST_MESSAGE_ID,
    DEFAULT_MAX_RECORDS,
    DEFAULT_MAX_LOG_BYTES,
} from "./state.ts"
export { MAX_PAGE_RECORDS, MAX_PAGE_BYTES } from "./list-page.ts"

/** `<repo>/state/platform` */
export const DEFAULT_STATE_DIR = join(
    import.meta.dirname,
    "../../state/platform"
)
/** 7 days, as today's documents give a token (48 h: TOKEN_TTL_48_HOURS). */
export const DEFAULT_TOKEN_TTL_SECONDS = TOKEN_TTL_7_DAYS
export { TOKEN_TTL_7_DAYS, TOKEN_TTL_48_HOURS } from "./token-ttl.ts"

export interface PlatformOptions {
    /** HTTPS port on 127.0.0.1; 0 (default) picks a free one */
    port?: number
    /** admin HTTP port; 0 (default) picks a free one; false: no admin server */
    adminPort?: number | false
    /** devices, as objects or `PK/DN/SECRET` strings */
    devices?: (Device | string)[]
    /** where the CA and server certificate are kept (default `<repo>/state/platform`) */
    stateDir?: string
    /**
     * token lifetime in seconds (default 7 days, as today's documents give
     * it; TOKEN_TTL_48_HOURS for the C SDK's 48 h), at most 10 years
     */
    tokenTtlSeconds?: number
    /** `jwt` (default): 161-character JWT-form tokens; `hex`: 32 hex digits */
    tokenForm?: TokenForm
    /** admitted requests per device per rate window (0/absent: unlimited) */
    rateDevice?: number
    /** admitted requests in all per rate window (0/absent: unlimited) */
    rateGlobal?: number
    /** the rate window in ms (default 1000: rates are per second) */
    rateWindowMs?: number
    /** idle keep-alive connections are closed after this (default 60000 ms) */
    keepAliveTimeoutMs?: number
    /** a request's headers must arrive within this (default 30000 ms; both servers) */
    headersTimeoutMs?: number
    /** a whole request, body included, must arrive within this (default 30000 ms; both servers) */
    requestTimeoutMs?: number
    /**
     * the largest publish body accepted, 1..131072 (default 131072, the
     * platform's 128 KB); lower it to see how a client handles the refusal
     */
    maxBodyBytes?: number
    /**
     * records kept per list (messages, informs, auths, requests; default
     * 10000): past it the oldest are dropped, and counted
     */
    maxRecords?: number
    /**
     * bytes kept per list (default 32 MiB: bodies and strings, plus 200 per
     * record): past it the oldest are dropped, and counted
     */
    maxLogBytes?: number
    /** the platform's clock (default Date.now); tests may pass a fake one */
    now?: () => number
    /**
     * custom topic classes, added to the defaults (`/${productKey}/${deviceName}/user/update`
     * and `.../user/update/error` pub, `.../user/get` sub) and the system topics
     */
    topics?: TopicClass[]
    /** receives one line per channel event (no secrets, no tokens) */
    onEvent?: (line: string) => void
}

/** The faults in force, switched-off ones left out. */
const faultsView = (f: Faults): Faults => JSON.parse(JSON.stringify(f))

/** A record as a page shows it, and its size in the answer. */
function sized<V>(value: V) {
    return { value, bytes: JSON.stringify(value).length }
}

/** One bounded page of one of the state's record lists. */
function listPage(
    st: PlatformState,
    list: RecordList,
    q: ListQuery
): ListPage<{ seq: number }> {
    const query = {
        since: q.since,
        before: q.before,
        limit: Math.min(q.limit ?? MAX_PAGE_RECORDS, MAX_PAGE_RECORDS),
        maxBytes: MAX_PAGE_BYTES,
    }
    const keep = (r: { productKey?: string; deviceName?: string }) =>
        (q.productKey === undefined || r.productKey === q.productKey) &&
        (q.deviceName === undefined || r.deviceName === q.deviceName)
    const log = st[list]
    const page =
        list === "messages" || list === "informs"
            ? st[list].page(query, m => sized(messageView(m)), keep)
            : list === "auths"
              ? st.auths.page(query, a => sized({ ...a }), keep)
              : st.requests.page(query, r => sized({ ...r }))
    return { ...page, dropped: log.dropped }
}

/** Starts the emulator: creates (or loads) its TLS material, then listens. */
export async function startPlatform(
    o: PlatformOptions = {}
): Promise<Platform> {
    if (o.tokenForm !== undefined && !TOKEN_FORMS.includes(o.tokenForm))
        throw new Error(`tokenForm must be one of ${TOKEN_FORMS.join(", ")}`)
    const mb = o.maxBodyBytes
    if (
        mb !== undefined &&
        !(Number.isInteger(mb) && mb >= 1 && mb <= MAX_PUBLISH_BYTES)
    )
        throw new Error(`maxBodyBytes must be a whole number in 1..131072`)
    for (const [name, v] of [
        ["maxRecords", o.maxRecords],
        ["maxLogBytes", o.maxLogBytes],
    ] as const)
        if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1))
            throw new Error(`${name} must be a whole number >= 1`)
    if (o.tokenTtlSeconds !== undefined) {
        const why = tokenTtlProblem("tokenTtlSeconds", o.tokenTtlSeconds)
        if (why) throw new RangeError(why)
    }
    if (o.keepAliveTimeoutMs !== undefined) {
        const why = durationProblem("keepAliveTimeoutMs", o.keepAliveTimeoutMs)
        if (why) throw new RangeError(why)
    }
    const timeouts = requestTimeouts(o)
    const tls = ensureTlsMaterial(o.stateDir ?? DEFAULT_STATE_DIR)
    const st = new PlatformState({
        tokenTtlMs: (o.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS) * 1000,
        tokenForm: o.tokenForm,
        rateDevice: o.rateDevice,
        rateGlobal: o.rateGlobal,
        rateWindowMs: o.rateWindowMs,
        maxRecords: o.maxRecords,
        maxLogBytes: o.maxLogBytes,
        now: o.now,
        topics: o.topics,
        devices: (o.devices ?? []).map(d => d as Device),
    })
    const channel = new Channel({
        state: st,
        cert: tls.cert,
        key: tls.key,
        keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 60000,
        timeouts,
        maxPublishBytes: mb,
        onEvent: o.onEvent,
    })
    const port = await channel.listen(o.port ?? 0)
    let admin: Server | undefined
    const p: Platform = {
        port,
        url: `https://${HOST}:${port}`,
        caFile: tls.caFile,
        ca: tls.ca,
        now: () => st.now(),
        devices: () => deviceViews(st),
        addDevice: d => {
            const { productKey, deviceName } = st.addDevice(d)
            return { productKey, deviceName }
        },
        removeDevice: (pk, dn) => st.removeDevice(pk, dn),
        auths: () => st.auths.list.map(a => ({ ...a })),
        messages: () =>
            st.messages.list.map(m => ({ ...messageView(m), body: m.body })),
        informs: () =>
            st.informs.list.map(m => ({ ...messageView(m), body: m.body })),
        requests: () => st.requests.list.map(r => ({ ...r })),
        page: ((list: RecordList, q: ListQuery = {}) =>
            listPage(st, list, q)) as Platform["page"],
        stats: (): StatsView => ({
            ...structuredClone(st.stats),
            dropped: st.dropped(),
        }),
        faults: () => faultsView(st.faults),
        setFaults: f => {
            st.setFaults(f)
            channel.syncOutage()
            return faultsView(st.faults)
        },
        clearFaults: () => {
            st.faults = { latencyMs: 0 }
            channel.syncOutage()
            return faultsView(st.faults)
        },
        tokenTtlSeconds: () => st.tokens.ttlMs / 1000,
        setTokenTtl: seconds => {
            const why = tokenTtlProblem("seconds", seconds)
            if (why) throw new RangeError(why)
            st.tokens.ttlMs = seconds * 1000
        },
        expireToken: (pk, dn) => st.tokens.expireDevice(pk, dn, st.now()),
        setClockOffset: ms => {
            const why = clockOffsetProblem(ms)
            if (why) throw new RangeError(why)
            st.clockOffsetMs = ms
        },
        reset: opts => {
            st.reset(opts)
            channel.syncOutage()
        },
        close: async () => {
            await Promise.all([
                channel.close(),
                admin &&
                    new Promise<void>(r => {
                        admin!.close(() => r())
                        admin!.closeAllConnections()
                    }),
            ])
        },
    }
    if (o.adminPort !== false) {
        try {
            admin = await startAdmin(p, o.adminPort ?? 0, timeouts)
        } catch (e) {
            await channel.close()
            throw e
        }
        p.adminPort = (admin.address() as any).port
        p.adminUrl = `http://${HOST}:${p.adminPort}`
    }
    return p
}
