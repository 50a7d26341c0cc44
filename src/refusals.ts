import { halfBatch } from "./batch"

/**
 * What the platform's refusals taught the reporter so far. A refusal does
 * not say whether the reading or the topic is wrong: the refused reading
 * is held and the next one tells (see {@link afterProbe}).
 */
export interface RefusalState {
    /** `seq` of the oldest reading, held after the platform refused it (0: none) */
    heldSeq: number
    /** two different readings in a row were refused on the topic */
    topicRefused: boolean
    /** after a refused batch: readings up to this seq go at most {@link splitLimit} at a time */
    splitUntil: number
    splitLimit: number
}

/** How one send ended (the reporter's delivery outcome). */
export type SendOutcome = "accepted" | "refused" | "invalid" | "retry"

/**
 * What the reporter does next:
 * `wait` nothing left the queue, try again later;
 * `taken` {@link RefusalDecision.shift} readings leave the queue (with
 * `droppedSeq`, the held reading among them was dropped);
 * `hold` the reading is held, the next one shows who is at fault;
 * `probe` the oldest is held: send the next one;
 * `refuseTopic` the topic is refused from now on (say so once), wait;
 * `split` the batch goes again in parts of `state.splitLimit`;
 * `single` no batch was built: the single-reading rules decide.
 */
export type RefusalAction =
    "wait" | "taken" | "hold" | "probe" | "refuseTopic" | "split" | "single"

/** A decision: the action and the state for the next send. */
export interface RefusalDecision {
    action: RefusalAction
    state: RefusalState
    /** readings that leave the queue, oldest first */
    shift: number
    /** `seq` of the held reading dropped with them (0: none) */
    droppedSeq: number
}

/** No refusal seen. */
export function noRefusal(): RefusalState {
    return { heldSeq: 0, topicRefused: false, splitUntil: 0, splitLimit: 1 }
}

function decide(
    action: RefusalAction,
    state: RefusalState,
    shift = 0,
    droppedSeq = 0
): RefusalDecision {
    return { action, state, shift, droppedSeq }
}

/** `s` with `heldSeq` and `topicRefused` (the split limit stays). */
function refusing(
    s: RefusalState,
    heldSeq: number,
    topicRefused: boolean
): RefusalState {
    return {
        heldSeq,
        topicRefused,
        splitUntil: s.splitUntil,
        splitLimit: s.splitLimit,
    }
}

/** `s` without a held reading nor a refused topic (the split limit stays). */
export function cleared(s: RefusalState): RefusalState {
    return refusing(s, 0, false)
}

/** Whether the oldest queued reading (`headSeq`) is held, waiting for the next. */
export function isHeld(s: RefusalState, headSeq: number): boolean {
    return headSeq === s.heldSeq && !s.topicRefused
}

/**
 * How many of `available` queued readings, the first numbered `firstSeq`,
 * may go in one request of at most `batchMax`: one while the topic is
 * refused (one reading a try tells when it is not), at most the split
 * limit up to the split's last seq.
 */
export function batchSize(
    s: RefusalState,
    batchMax: number,
    firstSeq: number,
    available: number
): number {
    if (!(batchMax > 1) || s.topicRefused) return 1
    let limit = batchMax
    if (firstSeq <= s.splitUntil) limit = Math.min(limit, s.splitLimit)
    return Math.min(limit, available)
}

/**
 * After the oldest reading (`seq`, not held) was sent alone: taken when
 * accepted or unsendable; held when refused; while the topic is refused,
 * the next reading probes.
 */
export function afterReading(
    s: RefusalState,
    seq: number,
    outcome: SendOutcome
): RefusalDecision {
    if (outcome === "retry") return decide("wait", s)
    if (outcome !== "refused") return decide("taken", cleared(s), 1)
    if (s.topicRefused) return decide("probe", s)
    return decide("hold", refusing(s, seq, false))
}

/**
 * After the reading behind the held oldest one (`headSeq`) was sent:
 * refused too, the topic is (two different readings in a row); otherwise
 * the held one was at fault and is dropped with it.
 */
export function afterProbe(
    s: RefusalState,
    headSeq: number,
    outcome: SendOutcome
): RefusalDecision {
    if (outcome === "retry") return decide("wait", s)
    if (outcome === "refused") {
        if (s.topicRefused) return decide("wait", s)
        return decide("refuseTopic", refusing(s, s.heldSeq, true))
    }
    return decide("taken", cleared(s), 2, headSeq)
}

/**
 * After `count` readings through `lastSeq` were sent as one batch (seqs
 * may jump inside it: readings lost at a restart),
 * behind the held reading when `behindHeld`: accepted, they leave the
 * queue (and the held one is dropped); refused, none is dropped and they
 * go again in halves; `single` when no reading went in (`count` 0).
 */
export function afterBatch(
    s: RefusalState,
    outcome: SendOutcome,
    behindHeld: boolean,
    lastSeq: number,
    count: number
): RefusalDecision {
    if (outcome === "retry") return decide("wait", s)
    if (outcome === "accepted") {
        const held = behindHeld ? 1 : 0
        return decide(
            "taken",
            cleared(s),
            held + count,
            behindHeld ? s.heldSeq : 0
        )
    }
    if (count === 0) return decide("single", s)
    return decide("split", {
        heldSeq: s.heldSeq,
        topicRefused: s.topicRefused,
        splitUntil: Math.max(s.splitUntil, lastSeq),
        splitLimit: halfBatch(count),
    })
}
