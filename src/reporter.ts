import { Backoff } from "./backoff"
import { alinkHistoryTopic, BatchBuilder } from "./batch"
import { ChannelError } from "./channel/client"
import { PayloadFormat } from "./config"
import { alinkPayload, plainPayload, ReadingValue } from "./payload"
import { KeptReading } from "./flash-queue"
import { RamOnly, ReadingKeeper } from "./reading-keeper"
import {
    afterBatch,
    afterProbe,
    afterReading,
    batchSize,
    cleared,
    isHeld,
    noRefusal,
    RefusalDecision,
    RefusalState,
    SendOutcome,
} from "./refusals"
import { ReadingQueue, StoredReading } from "./reading-queue"
import { WallClock } from "./time"
import { Timing } from "./timing"

/** A reading waiting to be sent (`takenAt`: uptime, or wall time with `wall`). */
export type QueuedReading = StoredReading

/**
 * Readings not yet taken by the platform are written to the keeper (flash)
 * in groups of this many: a power cut loses the readings taken since the
 * last group was written, at most this many (a cut during a group's write
 * takes the whole group); the seq gap shows them. A device whose link is up
 * writes none.
 */
export const KEEP_GROUP = 4

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
    dropped: number,
    estimated?: boolean
): string {
    if (format === "alink") return alinkPayload(seq, { time, values })
    const all: Record<string, ReadingValue> = { seq }
    for (const k of Object.keys(values)) all[k] = values[k]
    if (dropped > 0) all["dropped"] = dropped
    if (estimated && time > 0) all["est"] = true
    return plainPayload({ time, values: all })
}

export interface ReporterOptions {
    topic: string
    format: PayloadFormat
    periodMs: number
    bufferSize: number
    /** most queued readings in one request (BATCH_MAX); default 1: no batches */
    batchMax?: number
    /** the device (an Alink batch names it and goes to its history topic) */
    productKey?: string
    deviceName?: string
    /**
     * Reads the TOPIC setting again while the platform refuses the topic,
     * so that a corrected setting resumes delivery without a restart.
     */
    rereadTopic?: () => Promise<string>
    /**
     * Battery mode: the estimated wall-clock time now (NaN when unknown),
     * for readings taken before the clock is learned from a server.
     */
    estimateTime?: () => number
}

/** What the reporter needs of the channel (the {@link ChannelClient}). */
export interface ReadingChannel {
    /** Makes sure a token is at hand (authenticating tells the time). */
    ensureToken(): Promise<void>
    /** Publishes `body`; returns the messageId; throws ChannelError. */
    publish(topic: string, body: string | Buffer): Promise<string>
    /** Nothing is left to send for now (a client may let go of the socket). */
    idle(): Promise<void>
}

/**
 * Takes one reading per period and sends the queued readings oldest first,
 * one request at a time (reports never overlap). Failures that may pass
 * (network, throttling, 5xx, auth) keep the reading and wait with
 * exponential backoff and full jitter. When the queue is full the oldest
 * reading is dropped and counted.
 *
 * A refusal (10001 or another code that retrying cannot fix) does not say
 * whether the reading or the topic is wrong, so the refused reading is
 * held and the next one is sent: if that is accepted, the held reading was
 * at fault and is dropped; if it is refused too, the topic is (two
 * different readings in a row). Then the topic is named once in the log,
 * every reading is kept (bounded queue), and the oldest is tried again at
 * the backoff cap, after reading the TOPIC setting again: correcting it
 * resumes delivery with nothing lost.
 *
 * Once the clock is known, queued readings go up to `batchMax` to a
 * request (see batch.ts), accepted or refused as a unit. A refused batch
 * is never dropped whole: it is logged with its size and sent again in two
 * halves (a size refusal, or a bad reading found by halving), down to
 * single readings, which the rule above handles. (The rules are
 * refusals.ts; the reporter sends, logs and applies them.)
 */
export class Reporter {
    readonly queue: ReadingQueue
    readonly backoff: Backoff
    /** Where readings go (the TOPIC setting, read again while refused). */
    topic: string
    /** Two different readings in a row were refused on {@link topic}. */
    topicRefused = false
    /** Held reading, refused topic and split limit (see refusals.ts). */
    private refusal: RefusalState = noRefusal()
    /** Where readings are kept across reboots (flash), and their numbers. */
    readonly keeper: ReadingKeeper
    /** Readings up to this seq are in the keeper. */
    private keptThrough = 0
    /** The seq of the last reading taken. */
    private lastSeq = 0
    /** A one-off message (the version report) waiting to be sent. */
    private notice: { what: string; topic: string; body: string }
    /** After a failed attempt the notice waits behind the next reading. */
    private noticeDeferred = false

    constructor(
        readonly options: ReporterOptions,
        readonly channel: ReadingChannel,
        readonly clock: WallClock,
        readonly sample: () => Promise<Record<string, ReadingValue>>,
        /** uptime, sleep and retry jitter: {@link deviceTiming} on a device */
        readonly timing: Timing,
        /** readings kept across reboots: a {@link FlashKeeper}; default RAM only */
        keeper?: ReadingKeeper
    ) {
        this.keeper = keeper || new RamOnly()
        this.topic = options.topic
        this.queue = new ReadingQueue(options.bufferSize)
        this.backoff = new Backoff(
            BACKOFF_BASE_MS,
            backoffCap(options.periodMs),
            () => timing.random()
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
        const r = await this.deliver(n.what, n.topic, () => n.body, true)
        if (r === "retry") {
            this.noticeDeferred = true
            return false
        }
        this.notice = undefined
        return true
    }

    /**
     * Puts the readings kept before this boot in the queue (oldest first);
     * returns how many. Call once, before {@link run}.
     */
    async restore(): Promise<number> {
        let kept: KeptReading[]
        try {
            kept = await this.keeper.restore()
        } catch (e) {
            console.warn(
                `report: cannot read the readings kept in flash (${(e as Error).message})`
            )
            return 0
        }
        for (const k of kept) {
            this.queue.push({
                seq: k.seq,
                takenAt: k.time,
                values: k.values,
                wall: true,
                estimated: k.estimated,
            })
            this.keptThrough = this.lastSeq = k.seq
        }
        if (kept.length)
            console.log(
                `report: ${kept.length} readings kept from before the restart (seq ${kept[0].seq}..${this.keptThrough})`
            )
        return kept.length
    }

    /** Takes one reading into the queue. */
    async takeReading() {
        let takenAt = this.timing.millis()
        let wall = false
        let estimated = false
        const estimate = this.options.estimateTime
        if (!this.clock.synced() && estimate) {
            const t = estimate()
            if (t > 0) {
                takenAt = t
                wall = true
                estimated = true
            }
        }
        let seq: number
        try {
            seq = await this.keeper.takeSeq()
        } catch (e) {
            // the number cannot be recorded: go on from RAM (after a
            // reboot the next number may then repeat this one)
            seq = this.lastSeq + 1
            console.warn(
                `report: cannot record seq ${seq} in flash (${(e as Error).message})`
            )
        }
        this.lastSeq = seq
        const values = await this.sample()
        const r: StoredReading = { seq, takenAt, values }
        if (wall) {
            r.wall = true
            r.estimated = estimated
        }
        if (this.queue.push(r))
            console.warn(
                `report: queue full, dropped the oldest reading (${this.queue.dropped} dropped since boot)`
            )
    }

    /** Wall-clock time of `r`, NaN when unknown. */
    timeOf(r: QueuedReading): number {
        if (r.wall) return r.takenAt > 0 ? r.takenAt : NaN
        return this.clock.synced() ? this.clock.now(r.takenAt) : NaN
    }

    /**
     * Brings the keeper in line with the queue: forgets what left the
     * queue (sent or dropped), and keeps the readings not yet kept once
     * there are {@link KEEP_GROUP} of them, or any with `all` (before a
     * deep sleep). A failed write is logged; the readings stay in RAM.
     */
    async keepQueue(all = false) {
        const q = this.queue
        const n = q.size()
        try {
            const head = q.peek()
            await this.keeper.trim(head ? head.seq : this.keptThrough + 1)
            let i = n
            while (i > 0 && q.at(i - 1).seq > this.keptThrough) i--
            if (n - i < (all ? 1 : KEEP_GROUP)) return
            const group: KeptReading[] = []
            for (; i < n; i++) {
                const r = q.at(i)
                const t = this.timeOf(r)
                group.push({
                    seq: r.seq,
                    time: t > 0 ? t : 0,
                    estimated: !!r.estimated,
                    values: r.values,
                })
            }
            await this.keeper.keep(group)
            this.keptThrough = group[group.length - 1].seq
            console.log(
                `report: kept seq ${group[0].seq}..${this.keptThrough} in flash`
            )
        } catch (e) {
            console.warn(
                `report: cannot keep readings in flash (${(e as Error).message}); they stay in RAM`
            )
        }
    }

    /**
     * Sends the oldest queued reading (or, while it is held after a
     * refusal, the next one); false when it should be retried later.
     */
    async sendOldest(): Promise<boolean> {
        if (this.topicRefused) await this.rereadTopic()
        const head = this.queue.peek()
        const held = isHeld(this.refusal, head.seq)
        const start = held ? 1 : 0
        const limit = this.batchLimit(start)
        if (limit > 1) {
            const sent = await this.sendBatch(start, limit)
            if (sent !== undefined) return sent
        }
        if (!held) {
            const outcome = await this.sendReading(head)
            const d = this.apply(afterReading(this.refusal, head.seq, outcome))
            if (d.action === "wait") return false
            if (d.action === "taken") {
                this.queue.shift()
                if (outcome === "accepted") this.noticeDeferred = false
                return true
            }
            if (d.action === "hold") {
                console.warn(
                    `report: seq=${head.seq} held; the next reading shows whether it or the topic is refused`
                )
                return true
            }
        }
        // the oldest is held: the next reading tells who is at fault
        const next = this.queue.at(1)
        if (!next) return false
        const outcome = await this.sendReading(next)
        const d = this.apply(afterProbe(this.refusal, head.seq, outcome))
        if (d.action === "refuseTopic")
            console.warn(
                `report: the platform refuses topic ${this.topic} (two different readings in a row); keeping ${this.queue.size()} readings and retrying every ${this.backoff.capMs / 1000} s: check the TOPIC setting`
            )
        if (d.action !== "taken") return false
        console.warn(
            `report: seq=${d.droppedSeq} dropped: refused while seq=${next.seq} on the same topic was not`
        )
        for (let i = 0; i < d.shift; i++) this.queue.shift()
        this.noticeDeferred = false
        return true
    }

    /** Takes decision `d`'s state; returns `d`. */
    private apply(d: RefusalDecision): RefusalDecision {
        this.setRefusal(d.state)
        return d
    }

    private setRefusal(s: RefusalState) {
        this.refusal = s
        this.topicRefused = s.topicRefused
    }

    /** How many queued readings from `start` on may go in one request. */
    private batchLimit(start: number): number {
        const first = this.queue.at(start)
        // a batch needs times: the clock, or readings that carry theirs
        if (!first || (!this.clock.synced() && !first.wall)) return 1
        return batchSize(
            this.refusal,
            this.options.batchMax,
            first.seq,
            this.queue.size() - start
        )
    }

    /**
     * Sends up to `limit` queued readings from `start` on in one request.
     * True when the batch was accepted (its readings leave the queue) or
     * refused (it will go again in halves); false to retry later;
     * undefined when its first reading cannot be put in a batch (the
     * single-reading path decides about it).
     */
    private async sendBatch(
        start: number,
        limit: number
    ): Promise<boolean | undefined> {
        // (the VM has no `this` in arrow functions)
        const { options, queue, timing } = this
        const reporter = this
        const alink = options.format === "alink"
        const topic = alink
            ? alinkHistoryTopic(options.productKey, options.deviceName)
            : this.topic
        const firstSeq = queue.at(start).seq
        // seqs may jump inside a batch (readings lost at a restart)
        let lastSeq = firstSeq
        let count = 0
        let bytes = 0
        const outcome = await this.deliver(
            "report",
            topic,
            async () => {
                const b = new BatchBuilder({
                    format: options.format,
                    dropped: queue.dropped,
                    productKey: options.productKey,
                    deviceName: options.deviceName,
                })
                for (let i = 0; i < limit; i++) {
                    const r = queue.at(start + i)
                    const time = reporter.timeOf(r)
                    const br = {
                        seq: r.seq,
                        time,
                        values: r.values,
                        estimated: r.estimated,
                    }
                    if (!b.add(br)) break
                    count = b.count
                    lastSeq = r.seq
                    if ((i & 7) === 7) await timing.sleep(0) // the step budget
                }
                const body = b.body()
                bytes = body.length
                return body
            },
            false,
            id =>
                `accepted messageId=${id} ${count} readings seq ${firstSeq}..${lastSeq} (${bytes} bytes)`
        )
        const d = this.apply(
            afterBatch(this.refusal, outcome, start === 1, lastSeq, count)
        )
        if (d.action === "wait") return false
        if (d.action === "taken") {
            if (start === 1)
                console.warn(
                    `report: seq=${d.droppedSeq} dropped: refused while seq=${firstSeq}.. on the same topic were not`
                )
            for (let i = 0; i < d.shift; i++) queue.shift()
            this.noticeDeferred = false
            return true
        }
        if (d.action === "single") return undefined
        // refused as a unit: never dropped whole; sent again in halves
        console.warn(
            `report: a batch of ${count} readings (seq ${firstSeq}..${lastSeq}, ${bytes} bytes) was not taken; none dropped, sending them again ${d.state.splitLimit} at a time`
        )
        return true
    }

    /**
     * While the topic is refused: takes a corrected TOPIC setting. A
     * setting that cannot be read keeps the current topic.
     */
    private async rereadTopic() {
        const read = this.options.rereadTopic
        if (!read) return
        let t: string
        try {
            t = await read()
        } catch (e) {
            console.warn(
                `report: cannot read TOPIC (${(e as Error).message}); keeping ${this.topic}`
            )
            return
        }
        if (!t || t === this.topic) return
        console.log(`report: TOPIC is now ${t}`)
        this.topic = t
        this.setRefusal(cleared(this.refusal))
    }

    /** Publishes one reading to {@link topic}. */
    private async sendReading(r: QueuedReading): Promise<SendOutcome> {
        // (the VM has no `this` in arrow functions)
        const { options } = this
        const reporter = this
        const dropped = this.queue.dropped
        return await this.deliver(
            "report",
            this.topic,
            () => {
                const time = reporter.timeOf(r)
                return readingBody(
                    options.format,
                    r.values,
                    time,
                    r.seq,
                    dropped,
                    r.estimated
                )
            },
            false
        )
    }

    /**
     * Builds a body and publishes it, and logs what happened: `accepted`;
     * `refused` when the platform refused it as such; `invalid` when the
     * body cannot be built or is refused before sending; `retry` when it
     * may pass later (network, throttling, 5xx, authentication). The body
     * is built after the first authentication, which tells the time.
     * @param dropOnRefusal say in the log that a refusal drops it
     * @param accepted the log line's text after `what:` on acceptance
     */
    private async deliver(
        what: string,
        topic: string,
        body: () => string | Promise<Buffer>,
        dropOnRefusal: boolean,
        accepted?: (messageId: string) => string
    ): Promise<SendOutcome> {
        let building = false
        try {
            if (!this.clock.synced()) await this.channel.ensureToken()
            building = true
            const text = await body()
            building = false
            const messageId = await this.channel.publish(topic, text)
            // a batch is logged by its readings, not its (large) body
            if (accepted) console.log(`${what}: ${accepted(messageId)}`)
            else
                console.log(
                    `${what}: accepted messageId=${messageId} body=${text}`
                )
            return "accepted"
        } catch (e) {
            const err = e as ChannelError
            const fatal =
                e instanceof ChannelError &&
                err.outcome === "fatal" &&
                err.stage === "publish"
            if (building || (fatal && err.code === undefined)) {
                console.warn(`${what}: cannot be sent, dropped: ${err.message}`)
                return "invalid"
            }
            if (fatal) {
                const then = dropOnRefusal ? "dropped" : "kept"
                console.warn(`${what}: refused, ${then}: ${err.message}`)
                return "refused"
            }
            console.warn(`${what}: not sent (${err.message}); will retry`)
            return "retry"
        }
    }

    /** Whether anything can be sent now (a held reading waits for the next). */
    private pending(): boolean {
        const n = this.queue.size()
        const held = n > 0 && isHeld(this.refusal, this.queue.peek().seq)
        return n > (held ? 1 : 0) || !!this.notice
    }

    /**
     * Battery mode: sends what is queued (and the one-off message) until
     * everything is taken or an attempt fails, keeping the flash in line
     * after each request; true when everything was taken.
     */
    async sendAll(): Promise<boolean> {
        while (this.pending()) {
            const sent = this.noticeDue()
                ? await this.sendNotice()
                : await this.sendOldest()
            if (!sent) return false
            await this.keepQueue()
        }
        return true
    }

    /** Runs forever. */
    async run() {
        const period = this.options.periodMs
        const t = this.timing
        let nextReading = t.millis()
        let retryAt = 0
        for (;;) {
            if (t.millis() >= nextReading) {
                await this.takeReading()
                await this.keepQueue()
                nextReading += period
                // after a long stall, carry on from now rather than catch up
                if (nextReading <= t.millis()) nextReading = t.millis() + period
            }
            const pending = this.pending()
            if (pending && t.millis() >= retryAt) {
                const sent = this.noticeDue()
                    ? await this.sendNotice()
                    : await this.sendOldest()
                if (sent) {
                    this.backoff.reset()
                    retryAt = 0
                    await this.keepQueue()
                } else
                    retryAt =
                        t.millis() +
                        (this.topicRefused
                            ? this.backoff.capMs
                            : this.backoff.next())
                if (!this.pending()) await this.channel.idle()
                continue
            }
            let wake = nextReading
            if (pending && retryAt < wake) wake = retryAt
            await t.sleep(Math.max(1, wake - t.millis()))
        }
    }
}
