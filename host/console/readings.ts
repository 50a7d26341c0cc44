/**
 * Readings, version reports and authentications per device, read from the
 * platform emulator's admin API (`/messages`, `/informs`, `/auths`, each
 * with `?since=`), the last few hundred of each kept in memory. Only what
 * the charts need is kept: no token, no body that is not a reading. Anyone
 * can make the emulator record an `/auth` under a name of their choice, so
 * devices the fleet does not know are kept up to a cap, the one heard from
 * least recently dropped first.
 */
import {
    parseReading,
    parseVersionReport,
    type Reading,
} from "./reading-body.ts"

/** A point on a device's chart. */
export interface ReadingPoint extends Reading {
    /** `productKey/deviceName` */
    device: string
}

/** A marker on a device's charts: an authentication or a version report. */
export interface Marker {
    device: string
    t: number
    kind: "auth" | "auth-failed" | "version"
    label: string
}

/** What one poll brought. */
export interface ReadingsUpdate {
    points: ReadingPoint[]
    markers: Marker[]
    /** Devices no longer kept (unknown to the fleet, beyond the cap). */
    forgotten: string[]
}

/** Devices unknown to the fleet kept at most, by default. */
export const MAX_UNKNOWN_DEVICES = 64

/** A device's kept readings and markers. */
interface Slot {
    points: ReadingPoint[]
    markers: Marker[]
}

/** Everything kept, per device. */
export interface ReadingsState {
    /** Set while the admin API does not answer. */
    error: string
    devices: Record<string, { points: ReadingPoint[]; markers: Marker[] }>
}

/**
 * Polls the admin API at `adminUrl` and keeps the last `keep` of each, for
 * every device of the fleet ({@link setKnown}) and for at most
 * `maxUnknownDevices` others.
 */
export class ReadingsFeed {
    private since = { messages: 0, informs: 0, auths: 0 }
    private readonly devices = new Map<string, Slot>()
    /** Kept devices the fleet does not know, least recently heard from first. */
    private readonly unknown = new Set<string>()
    private known = new Set<string>()
    /** Dropped since the last poll, said with the next update. */
    private dropped: string[] = []
    readonly maxUnknownDevices: number
    error = ""

    constructor(
        readonly adminUrl: string,
        readonly keep = 300,
        o: { maxUnknownDevices?: number } = {}
    ) {
        this.maxUnknownDevices = o.maxUnknownDevices ?? MAX_UNKNOWN_DEVICES
    }

    /** The fleet's devices (`productKey/deviceName`): kept whatever the cap. */
    setKnown(devices: Iterable<string>) {
        this.known = new Set(devices)
        for (const d of this.known) this.unknown.delete(d)
        for (const d of this.devices.keys())
            if (!this.known.has(d) && !this.unknown.has(d)) this.unknown.add(d)
        this.trim()
    }

    /** Drops the unknown devices heard from least recently, down to the cap. */
    private trim() {
        for (const d of this.unknown) {
            if (this.unknown.size <= this.maxUnknownDevices) break
            this.unknown.delete(d)
            this.devices.delete(d)
            this.dropped.push(d)
        }
    }

    private async get(route: keyof ReadingsFeed["since"]): Promise<any[]> {
        const u = new URL(`/${route}`, this.adminUrl)
        if (this.since[route])
            u.searchParams.set("since", `${this.since[route]}`)
        const r = await fetch(u, { signal: AbortSignal.timeout(5000) })
        if (!r.ok) throw new Error(`${route}: HTTP ${r.status}`)
        const list = (await r.json()) as any[]
        if (!Array.isArray(list)) throw new Error(`${route}: not a list`)
        // records are oldest first; an emulator restarted from scratch starts again at 1
        if (list.length && list[list.length - 1].seq > this.since[route])
            this.since[route] = list[list.length - 1].seq
        return list
    }

    /** The slot of `device`, made when new; an unknown device becomes the most recent. */
    private slot(device: string): Slot {
        let s = this.devices.get(device)
        if (!s) this.devices.set(device, (s = { points: [], markers: [] }))
        if (!this.known.has(device)) {
            this.unknown.delete(device)
            this.unknown.add(device)
            this.trim()
        }
        return s
    }

    /** Channel requests the emulator had counted at the last poll. */
    private requests = 0

    /**
     * Starts reading from the first record again when the emulator's
     * request counter went back (it was restarted or reset): its record
     * numbers start again at 1.
     */
    private async noticeRestart() {
        const u = new URL("/stats", this.adminUrl)
        const r = await fetch(u, { signal: AbortSignal.timeout(5000) })
        if (!r.ok) throw new Error(`stats: HTTP ${r.status}`)
        const n = Number(((await r.json()) as { requests?: number }).requests)
        if (n < this.requests)
            this.since = { messages: 0, informs: 0, auths: 0 }
        this.requests = n
    }

    /** Reads what is new; returns it (and keeps it). */
    async poll(): Promise<ReadingsUpdate> {
        const out: ReadingsUpdate = { points: [], markers: [], forgotten: [] }
        try {
            await this.noticeRestart()
            const [messages, informs, auths] = [
                await this.get("messages"),
                await this.get("informs"),
                await this.get("auths"),
            ]
            this.error = ""
            for (const m of messages) {
                const r = parseReading(m.utf8, Date.parse(m.time))
                if (r)
                    out.points.push({
                        device: `${m.productKey}/${m.deviceName}`,
                        ...r,
                    })
            }
            for (const m of informs) {
                const v = parseVersionReport(m.utf8)
                if (v)
                    out.markers.push({
                        device: `${m.productKey}/${m.deviceName}`,
                        t: Date.parse(m.time),
                        kind: "version",
                        label: v,
                    })
            }
            for (const a of auths)
                if (a.productKey && a.deviceName)
                    out.markers.push({
                        device: `${a.productKey}/${a.deviceName}`,
                        t: Date.parse(a.time),
                        kind: a.code === 0 ? "auth" : "auth-failed",
                        label: a.code === 0 ? "auth" : `auth ${a.code}`,
                    })
        } catch (e) {
            this.error = `emulator admin API at ${this.adminUrl}: ${(e as Error).message}`
            return out
        }
        for (const p of out.points) {
            const s = this.slot(p.device)
            s.points.push(p)
            if (s.points.length > this.keep)
                s.points.splice(0, s.points.length - this.keep)
        }
        for (const m of out.markers) {
            const s = this.slot(m.device)
            s.markers.push(m)
            if (s.markers.length > this.keep)
                s.markers.splice(0, s.markers.length - this.keep)
        }
        // what was dropped in this poll is not sent either
        const kept = (x: { device: string }) => this.devices.has(x.device)
        out.points = out.points.filter(kept)
        out.markers = out.markers.filter(kept)
        out.forgotten = [...new Set(this.dropped)].filter(
            d => !this.devices.has(d)
        )
        this.dropped = []
        return out
    }

    /** Everything kept. */
    state(): ReadingsState {
        return {
            error: this.error,
            devices: Object.fromEntries(this.devices),
        }
    }
}
