import { deviceSettings, SettingsStore } from "./flash-queue"

/** Settings key of the next reading number. */
export const SEQ_KEY = "SEQ_NEXT"

/**
 * Numbers readings across boots: the next `seq` is kept in flash and
 * written before a number is used, so a reboot, a deep sleep or a power
 * cut never gives a number twice, and a gap on the platform is a reading
 * the device took and lost (in RAM at a power cut, or dropped and
 * counted). One small write per reading (about 32 bytes of flash with the
 * store's entry).
 */
export class SeqCounter {
    private next = 0

    constructor(readonly store: SettingsStore = deviceSettings) {}

    /** Reads the next number from flash (1 on a fresh device). */
    async load(): Promise<number> {
        const v = await this.store.read(SEQ_KEY, null)
        this.next =
            typeof v === "number" &&
            v >= 1 &&
            v < 0xffffffff &&
            Math.floor(v) === v
                ? v
                : 1
        return this.next
    }

    /** The number the next {@link take} gives (after {@link load}). */
    peek(): number {
        return this.next
    }

    /** Gives the next number, after recording in flash that it is used. */
    async take(): Promise<number> {
        if (!this.next) await this.load()
        const seq = this.next
        await this.store.write(SEQ_KEY, seq + 1)
        this.next = seq + 1
        return seq
    }
}
