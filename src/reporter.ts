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

    /**
     * Sends the one-off message.
     * @returns false when it should be retried later
     */
    async sendNotice(): Promise<boolean> {
        const n = this.notice
        try {
            const messageId = await this.channel.publish(n.topic, n.body)
            this.notice = undefined
            console.log(
                `${n.what}: accepted messageId=${messageId} body=${n.body}`
            )
            return true
        } catch (e) {
            const err = e as ChannelError
            if (err.outcome === "fatal" && err.stage === "publish") {
                this.notice = undefined
                console.warn(`${n.what}: refused, not sent: ${err.message}`)
                return true
            }
            this.noticeDeferred = true
            console.warn(`${n.what}: not sent (${err.message}); will retry`)
            return false
        }
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

    /**
     * Sends the oldest queued reading.
     * @returns false when it should be retried later
     */
    async sendOldest(): Promise<boolean> {
        const r = this.queue.peek()
        let body = ""
        try {
            // a first authentication tells the time, so the reading has it
            if (!this.clock.synced()) await this.channel.ensureToken()
            const time = this.clock.synced() ? this.clock.now(r.takenAt) : NaN
            body = readingBody(
                this.options.format,
                r.values,
                time,
                r.seq,
                this.queue.dropped
            )
            const messageId = await this.channel.publish(
                this.options.topic,
                body
            )
            this.queue.shift()
            this.accepted++
            this.noticeDeferred = false
            console.log(
                `report: accepted messageId=${messageId} queued=${this.queue.size()} body=${body}`
            )
            return true
        } catch (e) {
            const err = e as ChannelError
            if (err.outcome === "fatal" && err.stage === "publish") {
                this.queue.shift()
                this.refused++
                console.warn(`report: refused, reading dropped: ${err.message}`)
                return true
            }
            console.warn(`report: not sent (${err.message}); will retry`)
            return false
        }
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
            const pending = this.queue.size() > 0 || !!this.notice
            if (pending && ds.millis() >= retryAt) {
                const sent = this.noticeDue()
                    ? await this.sendNotice()
                    : await this.sendOldest()
                if (sent) {
                    this.backoff.reset()
                    retryAt = 0
                } else retryAt = ds.millis() + this.backoff.next()
                continue
            }
            let wake = nextReading
            if (pending && retryAt < wake) wake = retryAt
            await ds.sleep(Math.max(1, wake - ds.millis()))
        }
    }
}
