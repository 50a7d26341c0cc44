/**
 * Tasks run one at a time per key, in the order they were queued: the
 * service handles each device's messages, timeouts and connection records
 * in order even though every store call awaits (two sessions of one device,
 * an old one closing while a new one starts, never interleave).
 */
export class KeyedQueue {
    private readonly tails = new Map<string, Promise<void>>()

    /**
     * Queues `task` behind the tasks queued for `key`. The returned promise
     * settles when it has run; `onError` gets what it throws.
     */
    run(
        key: string,
        task: () => Promise<void>,
        onError: (e: unknown) => void
    ): Promise<void> {
        const prev = this.tails.get(key) ?? Promise.resolve()
        const next = prev.then(task).catch(onError)
        this.tails.set(key, next)
        void next.then(() => {
            if (this.tails.get(key) === next) this.tails.delete(key)
        })
        return next
    }

    /** Settles once every task queued so far (and those they queue) has run. */
    async idle(): Promise<void> {
        while (this.tails.size) await Promise.all(this.tails.values())
    }
}
