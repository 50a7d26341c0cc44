/**
 * What a running emulator offers: the type the library facade (`index.ts`)
 * returns and the admin API (`admin.ts`) serves, apart from both so that
 * neither imports the other.
 */
import type { Faults, FaultsInput } from "./faults.ts"
import type { ListPage, ListQuery, RecordList } from "./list-page.ts"
import type {
    AuthRecord,
    Device,
    DroppedCounts,
    RequestRecord,
    Stats,
} from "./state.ts"
import type { DeviceView, MessageView } from "./views.ts"

/** The counters, and the records each list dropped to keep within its bounds. */
export interface StatsView extends Stats {
    dropped: DroppedCounts
}

/** A running emulator. Every function is also an admin API route. */
export interface Platform {
    /** HTTPS port of the device channel */
    port: number
    /** admin HTTP port (undefined with `adminPort: false`) */
    adminPort?: number
    /** `https://127.0.0.1:${port}` */
    url: string
    /** `http://127.0.0.1:${adminPort}` */
    adminUrl?: string
    /** path of the CA certificate (PEM) that clients must trust */
    caFile: string
    /** the CA certificate (PEM) */
    ca: string
    /** the platform's clock (ms since the epoch, clock offset included) */
    now(): number
    /** GET /devices */
    devices(): DeviceView[]
    /** POST /devices: adds or replaces a device */
    addDevice(d: Device | string): DeviceView
    /** POST /remove-device */
    removeDevice(productKey: string, deviceName: string): boolean
    /** every auth attempt kept and its result, oldest first */
    auths(): AuthRecord[]
    /** every accepted message kept, oldest first (`body` only here) */
    messages(): (MessageView & { body: Buffer })[]
    /** every accepted version report kept (`/ota/device/inform/PK/DN`), oldest first; not in `messages` */
    informs(): (MessageView & { body: Buffer })[]
    /** every channel request kept and what happened to it */
    requests(): RequestRecord[]
    /**
     * GET /messages, /informs, /auths, /requests: one bounded page of a list
     * (messages and informs as MessageView, without `body`)
     */
    page(list: "messages" | "informs", q?: ListQuery): ListPage<MessageView>
    page(list: "auths", q?: ListQuery): ListPage<AuthRecord>
    page(list: "requests", q?: ListQuery): ListPage<RequestRecord>
    page(list: RecordList, q?: ListQuery): ListPage<{ seq: number }>
    /** GET /stats */
    stats(): StatsView
    /** GET /faults */
    faults(): Faults
    /** POST /faults: merges the input into the faults in force */
    setFaults(f: FaultsInput): Faults
    /** switches every fault off */
    clearFaults(): Faults
    /** GET /token-ttl: how long tokens issued from now on live, in seconds */
    tokenTtlSeconds(): number
    /**
     * POST /token-ttl `{"seconds": N}`: tokens issued from now on live N
     * seconds (0..10 years; 172800 for the C SDK's 48 h); kept across reset
     */
    setTokenTtl(seconds: number): void
    /** POST /expire-token: expires the device's live tokens; returns how many */
    expireToken(productKey: string, deviceName: string): number
    /** POST /clock: shifts the platform's clock by `offsetMs` */
    setClockOffset(offsetMs: number): void
    /** POST /reset: clears records, counters, faults, throttling, clock offset (and tokens if asked) */
    reset(opts?: { tokens?: boolean }): void
    /** stops both servers and drops every connection */
    close(): Promise<void>
}
