/**
 * A simulated fleet member for the console's demo and tests, at protocol
 * level (no DeviceScript simulator): on the fleet side the runtime's cloud
 * protocol ({@link FakeDevice}: hash check, deploy), on the platform side
 * what the firmware sends over HTTPS: `/auth`, readings
 * `{"ts","seq","temperature","humidity"}` on `/PK/DN/user/update`, and a
 * version report on `/ota/device/inform/PK/DN` at boot and after each
 * update (which restarts it, so `seq` starts again).
 */
import { FakeDevice } from "../testkit/fake-device.ts"
import {
    authenticate,
    publish,
    type Target,
} from "../testkit/platform-client.ts"

/** A platform identity with its secret (kept in the process only). */
export interface PlatformIdentity {
    productKey: string
    deviceName: string
    deviceSecret: string
}

/** One simulated device: its fleet identity, program and platform identity. */
export interface SimMemberOptions {
    id: string
    /** The device's fleet connection string. */
    connectionString: string
    /** The program it runs at first. */
    program: Buffer
    /** Where it reports readings, and as whom; none: fleet side only. */
    platform?: { target: Target; identity: PlatformIdentity }
    /** The version name of a program hash (what it reports). */
    versionOf: (hash: string) => string | undefined
}

const TOKEN_CODES = new Set([20001, 20002, 20003])

/** One simulated device. */
export class SimMember {
    readonly fake: FakeDevice
    private token = ""
    private seq = 0
    private booted = false
    /** Readings dropped since boot (cumulative, as the firmware counts). */
    private dropped = 0
    /** The phase of its readings' wave, so devices differ. */
    private readonly phase: number

    constructor(readonly o: SimMemberOptions) {
        this.fake = new FakeDevice({
            connectionString: o.connectionString,
            program: o.program,
        })
        this.phase = [...o.id].reduce((a, c) => a + c.charCodeAt(0), 0) % 17
    }

    /** The version it runs (by name when published). */
    version(): string {
        return this.o.versionOf(this.fake.hash()) ?? "unknown"
    }

    /**
     * Checks in with the fleet service once (as the runtime does every ~32
     * s) and returns when the service lets go; a program installed then
     * restarts the device: a version report, readings from seq 0.
     */
    async checkIn(): Promise<void> {
        const before = this.fake.installed.length
        await this.fake.connect().ended
        if (this.fake.installed.length !== before) {
            this.seq = 0
            this.dropped = 0
            this.booted = false
        }
    }

    private async post(topic: string, body: string) {
        const p = this.o.platform!
        if (!this.token) this.token = await authenticate(p.target, p.identity)
        let r = await publish(p.target, topic, this.token, body)
        if (TOKEN_CODES.has(r.json?.code)) {
            // expired or unknown token: authenticate again and resend once
            this.token = await authenticate(p.target, p.identity)
            r = await publish(p.target, topic, this.token, body)
        }
        if (r.json?.code !== 0)
            throw new Error(`${this.o.id}: ${topic}: ${r.text.slice(0, 120)}`)
    }

    /**
     * Sends one reading (and, first after a boot, the version report).
     * `values` replaces the simulated temperature and humidity; `skip` skips
     * seq ahead (readings that never arrive), `dropped` adds to the count
     * of dropped readings it reports from then on.
     */
    async report(
        o: {
            values?: Record<string, number>
            skip?: number
            dropped?: number
        } = {}
    ): Promise<void> {
        const p = this.o.platform
        if (!p) return
        const { productKey: pk, deviceName: dn } = p.identity
        if (!this.booted) {
            await this.post(
                `/ota/device/inform/${pk}/${dn}`,
                JSON.stringify({ id: "1", params: { version: this.version() } })
            )
            this.booted = true
        }
        this.seq += 1 + (o.skip ?? 0)
        this.dropped += o.dropped ?? 0
        const t = Date.now()
        const wave = Math.sin(t / 20_000 + this.phase)
        const values = o.values ?? {
            temperature:
                Math.round((21 + 2 * wave + Math.random() * 0.3) * 100) / 100,
            humidity: Math.round((45 - 5 * wave + Math.random()) * 10) / 10,
        }
        await this.post(
            `/${pk}/${dn}/user/update`,
            JSON.stringify({
                ts: t,
                seq: this.seq,
                ...values,
                ...(this.dropped ? { dropped: this.dropped } : {}),
            })
        )
    }
}

/** A fleet of simulated devices: what {@link simMembers} needs. */
export interface SimFleet {
    ids: string[]
    /** The fleet service, for each device's connection string. */
    service: { connectionString(id: string): Promise<string> }
    /** The program they all run at first. */
    program: Buffer
    /** Where they report readings. */
    target: Target
    productKey: string
    /** Each device's platform secret. */
    secretOf: (id: string) => string
    /** The version name of a program hash (what they report). */
    versionOf: (hash: string) => string | undefined
}

/** One {@link SimMember} per id, each with its platform identity. */
export async function simMembers(f: SimFleet): Promise<SimMember[]> {
    const strings = await Promise.all(
        f.ids.map(id => f.service.connectionString(id))
    )
    return f.ids.map(
        (id, i) =>
            new SimMember({
                id,
                connectionString: strings[i],
                program: f.program,
                platform: {
                    target: f.target,
                    identity: {
                        productKey: f.productKey,
                        deviceName: id,
                        deviceSecret: f.secretOf(id),
                    },
                },
                versionOf: f.versionOf,
            })
    )
}
