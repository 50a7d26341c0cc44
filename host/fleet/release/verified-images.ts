/**
 * Release images already checked for a deploy, kept in memory. Each deploy
 * read the image's file, hashed it twice and checked its signature again:
 * the same work for every device of a rollout. An image is kept under its
 * hash and the signature it was checked with, so a signature that changes
 * is checked anew; the few newest are kept. A copy in memory that passed
 * its checks is what devices get, whatever happens to the file later.
 */
export class VerifiedImages {
    /** Least recently used first. */
    private readonly kept = new Map<string, Buffer>()

    constructor(private readonly max = 4) {}

    /**
     * The image with `hash` checked against `signature`: from memory, else
     * from `load` (which reads and checks it, throwing when it fails; a
     * failure is not kept, so the next deploy checks again).
     */
    async get(
        hash: string,
        signature: string,
        load: () => Promise<Buffer>
    ): Promise<Buffer> {
        const key = `${hash} ${signature}`
        const hit = this.kept.get(key)
        if (hit) {
            this.kept.delete(key)
            this.kept.set(key, hit)
            return hit
        }
        const image = await load()
        this.kept.set(key, image)
        if (this.kept.size > this.max)
            this.kept.delete(this.kept.keys().next().value!)
        return image
    }
}
