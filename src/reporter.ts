import * as ds from "@devicescript/core"
import { Backoff } from "./backoff"
import { ChannelClient, ChannelError } from "./channel/client"
import { PayloadFormat } from "./config"
import { alinkPayload, plainPayload, ReadingValue } from "./payload"
import { BoundedQueue } from "./queue"
import { WallClock } from "./time"

/** A reading waiting to be sent. */
export interface QueuedReading {
    /** Number of the reading since boot (gaps show dropped readings). */
    seq: number
    /** `ds.millis()` when it was taken; turned into wall time when sent. */
    takenAt: number
    values: Record<string, ReadingValue>
}

/** First retry delay ceiling after a failure. */
export const BACKOFF_BASE_MS = 1000

/**
 * Longest retry delay: a few report periods (there is no point in waiting
 * much longer than readings take to pile up), between 10 s and 5 min.
 */
export function backoffCap(periodMs: number): number {
    return Math.min(300000, Math.max(10000, 4 * periodMs))
}

/**
 * Request body for one reading. Plain JSON carries `ts` (wall time, when
 * known), `seq` (the reading's number since boot) and, after readings were
 * dropped for lack of room, the cumulative `dropped` count; Alink puts the
 * values in `params` with `seq` as the message `id`.
 */
export function readingBody(
    format: PayloadFormat,
    values: Record<string, ReadingValue>,
    time: number,
    seq: number,
    dropped: number
): string {
    if (format === "alink") return alinkPayload(seq, { time, values })
    const all: Record<string, ReadingValue> = { seq }
    for (const k of Object.keys(values)) all[k] = values[k]
    if (dropped > 0) all["dropped"] = dropped
    return plainPayload({ time, values: all })
}

export interface ReporterOptions {
    topic: string
    format: PayloadFormat
    periodMs: number
    bufferSize: number
    /** close the connection once nothing is left to send (fleet OTA shares the socket) */
    fleetOta: boolean
}

/**
 * Takes one reading per period and sends the queued readings oldest first,
 * one request at a time (reports never overlap). Failures that may pass
 * (network, throttling, 5xx, auth) keep the reading and wait with
 * exponential backoff and full jitter; a reading the platform refuses as
 * such is dropped and counted. When the queue is full the oldest reading
 * is dropped and counted.
 */
export class Reporter {
    readonly queue: BoundedQueue<QueuedReading>
    readonly backoff: Backoff
    /** Readings the platform accepted since boot. */
    accepted = 0
    /** Readings the platform refused for good since boot. */
    refused = 0
    private nextSeq = 1
    /** A one-off message (the version report) waiting to be sent. */
    private notice: { what: string; topic: string; body: string }
    /** After a failed attempt the notice waits behind the next reading. */
    private noticeDeferred = false

    constructor(
        readonly options: ReporterOptions,
        readonly channel: ChannelClient,
        readonly clock: WallClock,
        readonly sample: () => Promise<Record<string, ReadingValue>>
    ) {
        this.queue = new BoundedQueue<QueuedReading>(options.bufferSize)
        this.backoff = new Backoff(
            BACKOFF_BASE_MS,
            backoffCap(options.periodMs)
        )
    }

    /**
     * Queues a one-off message, sent before the next reading with the same
     * backoff; after a failure the readings go first, so it never holds
     * them up. Dropped (and logged) if the platform refuses it.
     */
    sendOnce(what: string, topic: string, body: string) {
        this.notice = { what, topic, body }
        this.noticeDeferred = false
    }

    /** Whether the one-off message is next in line. */
    private noticeDue(): boolean {
        return (
            !!this.notice && (!this.noticeDeferred || this.queue.size() === 0)
        )
    }

    /** Sends the one-off message; false when it should be retried later. */
    async sendNotice(): Promise<boolean> {
        const n = this.notice
        const r = await this.deliver(n.what, n.topic, () => n.body)
        if (r === "retry") {
            this.noticeDeferred = true
            return false
        }
        this.notice = undefined
        return true
    }

    /** Takes one reading into the queue. */
    async takeReading() {
        const takenAt = ds.millis()
        const seq = this.nextSeq++
        const values = await this.sample()
        if (this.queue.push({ seq, takenAt, values }))
            console.warn(
                `report: queue full, dropped the oldest reading (${this.queue.dropped} dropped since boot)`
            )
    }

    /** Sends the oldest queued reading; false when it should be retried later. */
    async sendOldest(): Promise<boolean> {
        const r = this.queue.peek()
        // (the VM has no `this` in arrow functions)
        const { clock, options } = this
        const dropped = this.queue.dropped
        const outcome = await this.deliver("report", options.topic, () => {
            const time = clock.synced() ? clock.now(r.takenAt) : NaN
            return readingBody(options.format, r.values, time, r.seq, dropped)
        })
        if (outcome === "retry") return false
        this.queue.shift()
        if (outcome === "accepted") {
            this.accepted++
            this.noticeDeferred = false
        } else this.refused++
        return true
    }

    /**
     * Builds a body and publishes it, and logs what happened: `accepted`;
     * `refused` when it can never succeed (the platform refused it as such,
     * or the body cannot be built); `retry` when it may pass later (network,
     * throttling, 5xx, authentication). The body is built after the first
     * authentication, which tells the time.
     */
    private async deliver(
        what: string,
        topic: string,
        body: () => string
    ): Promise<"accepted" | "refused" | "retry"> {
        let building = false
        try {
            if (!this.clock.synced()) await this.channel.ensureToken()
            building = true
            const text = body()
            building = false
            const messageId = await this.channel.publish(topic, text)
            console.log(`${what}: accepted messageId=${messageId} body=${text}`)
            return "accepted"
        } catch (e) {
            const err = e as ChannelError
            const refused =
                building ||
                (e instanceof ChannelError &&
                    err.outcome === "fatal" &&
                    err.stage === "publish")
            if (refused) {
                console.warn(`${what}: refused, dropped: ${err.message}`)
                return "refused"
            }
            console.warn(`${what}: not sent (${err.message}); will retry`)
            return "retry"
        }
    }

    /** Whether anything waits to be sent. */
    private pending(): boolean {
        return this.queue.size() > 0 || !!this.notice
    }

    /** Runs forever. */
    async run() {
        const period = this.options.periodMs
        let nextReading = ds.millis()
        let retryAt = 0
        for (;;) {
            if (ds.millis() >= nextReading) {
                await this.takeReading()
                nextReading += period
                // after a long stall, carry on from now rather than catch up
                if (nextReading <= ds.millis())
                    nextReading = ds.millis() + period
            }
            const pending = this.pending()
            if (pending && ds.millis() >= retryAt) {
                const sent = this.noticeDue()
                    ? await this.sendNotice()
                    : await this.sendOldest()
                if (sent) {
                    this.backoff.reset()
                    retryAt = 0
                } else retryAt = ds.millis() + this.backoff.next()
                if (this.options.fleetOta && !this.pending())
                    await this.channel.http.close() // the socket is free for OTA
                continue
            }
            let wake = nextReading
            if (pending && retryAt < wake) wake = retryAt
            await ds.sleep(Math.max(1, wake - ds.millis()))
        }
    }
}
