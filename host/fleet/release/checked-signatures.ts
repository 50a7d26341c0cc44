/**
 * Release signatures already checked. Each deploy of a rollout checked its
 * image's Ed25519 signature again (and hashed the image once more for it);
 * a signature is over the image's hash, so a pair of hash and signature
 * that passed once passes again. The image itself is still read and hashed
 * at every deploy (artifacts.ts), so a file damaged in storage is refused.
 */
export class CheckedSignatures {
    /** "hash signature" of the pairs that passed, oldest first. */
    private readonly passed = new Set<string>()

    constructor(private readonly max = 16) {}

    /**
     * Runs `check` (which throws when the signature does not hold) unless
     * this `hash` and `signature` passed before; a failure is not kept.
     */
    check(hash: string, signature: string, check: () => void): void {
        const key = `${hash} ${signature}`
        if (this.passed.has(key)) return
        check()
        this.passed.add(key)
        if (this.passed.size > this.max)
            this.passed.delete(this.passed.values().next().value!)
    }
}
