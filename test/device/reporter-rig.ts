import * as ds from "@devicescript/core"
import { ChannelClient, ChannelError } from "../../src/channel/client"
import { TokenStore } from "../../src/channel/token-store"
import { HttpClient } from "../../src/http/client"
import { ReadingKeeper } from "../../src/reading-keeper"
import { Reporter } from "../../src/reporter"
import { WallClock } from "../../src/time"
import { Timing } from "../../src/timing"
import {
    accepted,
    ScriptedTransport,
    SeenRequest,
    tokenAnswer,
} from "./scripted-transport"

/** The topic readings go to unless a test says otherwise. */
export const TOPIC = "/pk/dn/user/update"
/** Where the version report goes. */
export const INFORM = "/ota/device/inform/pk/dn"
const STOP = "fake time is up"

/** The platform's refusal of a publish (10001 param error), as the channel throws it. */
export function paramError() {
    return new ChannelError(
        "fatal",
        "publish: 10001 param error",
        "publish",
        10001
    )
}

/**
 * A clock that moves only when slept on, records every wait asked of it,
 * and ends `Reporter.run()` (its sleep throws) once it reaches `until`.
 * Jitter is a constant.
 */
export class FakeTiming implements Timing {
    now = 0
    until = 0
    sleeps: number[] = []
    jitter = 0.5

    millis() {
        return this.now
    }

    async sleep(ms: number) {
        await ds.sleep(0) // a real yield: the VM's step budget is per yield
        this.sleeps.push(ms)
        this.now += ms
        if (this.now >= this.until) throw new Error(STOP)
    }

    random() {
        return this.jitter
    }
}

/** A publish the scripted platform received. */
export interface Published {
    /** fake time it arrived */
    at: number
    topic: string
    /** the reading's `seq`; 0 for a body without one (the version report) */
    seq: number
    body: string
    /** the connection it came on (1 = first) */
    connection: number
}

export interface RigOptions {
    topic?: string
    periodMs?: number
    bufferSize?: number
    rereadTopic?: () => Promise<string>
    /** the HTTP client's option for FLEET_OTA */
    releaseWhenIdle?: boolean
    /** most readings a request (BATCH_MAX; default 1) */
    batchMax?: number
    /** where readings are kept across reboots (default: RAM only) */
    keeper?: ReadingKeeper
}

/**
 * The firmware's own stack, `Reporter` over `ChannelClient` over
 * `HttpClient`, on a {@link ScriptedTransport} whose platform issues a
 * token and accepts every publish unless {@link answer} says otherwise,
 * and on a {@link FakeTiming}.
 */
export class Rig {
    readonly transport = new ScriptedTransport()
    readonly timing = new FakeTiming()
    readonly http: HttpClient
    readonly reporter: Reporter
    /** every publish the platform received (not the ones lost on a dead connection) */
    published: Published[] = []
    /** the platform's answer to a publish: accepted by default */
    answer: (p: Published) => string = p => accepted(1)

    constructor(o: RigOptions) {
        const rig = this // (no `this` in arrow functions)
        this.transport.respond = req => rig.respond(req)
        this.http = new HttpClient(this.transport, {
            host: "h",
            port: 443,
            releaseWhenIdle: o.releaseWhenIdle,
        })
        const clock = new WallClock()
        const channel = new ChannelClient(
            {
                productKey: "pk",
                deviceName: "dn",
                deviceSecret: "secret",
                clientId: "pk.dn",
                signMethod: "hmacsha1",
            },
            this.http,
            new TokenStore("pk/dn@h"),
            clock
        )
        this.reporter = new Reporter(
            {
                topic: o.topic || TOPIC,
                format: "json",
                periodMs: o.periodMs || 1000,
                bufferSize: o.bufferSize || 8,
                batchMax: o.batchMax,
                rereadTopic: o.rereadTopic,
            },
            channel,
            clock,
            async () => ({ temperature: 20 }),
            this.timing,
            o.keeper
        )
    }

    private respond(req: SeenRequest): string {
        if (req.path === "/auth")
            return tokenAnswer("6944e5bfb92e4d4ea3918d1eda3942f6")
        const seq = JSON.parse(req.body).seq as number
        const p: Published = {
            at: this.timing.now,
            topic: req.path.slice("/topic".length),
            seq: seq > 0 ? seq : 0,
            body: req.body,
            connection: req.connection,
        }
        this.published.push(p)
        return this.answer(p)
    }

    /** Runs the reporter until the fake clock reaches `ms`. */
    async runUntil(ms: number) {
        this.timing.until = ms
        try {
            await this.reporter.run()
        } catch (e) {
            if ((e as Error).message !== STOP) throw e
        }
    }

    /**
     * The publishes the platform received, as `seq@time` (`v` for the
     * version report), comma-separated; only those `keep` selects.
     */
    sent(keep?: (p: Published) => boolean): string {
        return this.published
            .filter(p => !keep || keep(p))
            .map(p => `${p.seq > 0 ? p.seq : "v"}@${p.at}`)
            .join(",")
    }
}
