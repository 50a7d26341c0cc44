import { FlashQueue, KeptReading } from "./flash-queue"
import { SeqCounter } from "./seq-counter"

/**
 * What the reporter needs to keep readings across a reboot: numbers that
 * continue, and the readings not yet taken by the platform. The device's
 * is {@link FlashKeeper}; without one, readings live in RAM only.
 */
export interface ReadingKeeper {
    /** The readings kept before this boot, oldest first. */
    restore(): Promise<KeptReading[]>
    /** The next reading number, recorded as used before it is given. */
    takeSeq(): Promise<number>
    /** Keeps `readings` (oldest first, newer than any kept) as one group. */
    keep(readings: KeptReading[]): Promise<void>
    /** Forgets every kept reading whose seq is below `seq`. */
    trim(seq: number): Promise<void>
    /** Number of readings kept. */
    size(): number
}

/** Readings kept in a {@link FlashQueue}, numbered by a {@link SeqCounter}. */
export class FlashKeeper implements ReadingKeeper {
    readonly seqs: SeqCounter

    constructor(
        readonly queue: FlashQueue,
        seqs?: SeqCounter
    ) {
        this.seqs = seqs || new SeqCounter(queue.store)
    }

    async restore(): Promise<KeptReading[]> {
        const next = await this.seqs.load()
        const kept = await this.queue.load()
        console.log(
            `flash: ${kept.length} readings kept, ${this.queue.dropped} dropped for room, next seq ${next}`
        )
        return kept
    }

    async takeSeq(): Promise<number> {
        return await this.seqs.take()
    }

    async keep(readings: KeptReading[]) {
        await this.queue.append(readings)
    }

    async trim(seq: number) {
        await this.queue.trim(seq)
    }

    size() {
        return this.queue.size()
    }
}

/** Numbers from 1 in RAM and nothing kept: readings are lost at a reboot. */
export class RamOnly implements ReadingKeeper {
    private next = 1
    async restore(): Promise<KeptReading[]> {
        return []
    }
    async takeSeq(): Promise<number> {
        return this.next++
    }
    async keep(readings: KeptReading[]) {}
    async trim(seq: number) {}
    size() {
        return 0
    }
}
