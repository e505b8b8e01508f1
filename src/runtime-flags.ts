/**
 * V8 flags wsgate runs with. The `wsgate` bin sets them in its shebang line,
 * workers inherit them, and the benchmark passes them too.
 *
 * Why: relaying streams keeps 64 KiB read buffers alive across young-generation
 * collections, so some are promoted; their backing stores count toward V8's
 * global memory limit, which starts small. With wsgate's modules loaded
 * (~12 MB of heap) that limit was reached every ~70 ms under streaming load,
 * and back-to-back mark-compacts doubled the CPU per GB relayed (measured:
 * 1.2-1.5 s/GB with the default, 0.69 s/GB with an initial heap of 64 MB; the
 * flag reserves nothing up front, it only moves the first limits).
 *
 * The larger first limit has a cost: objects of a handshake that live across a
 * few event-loop turns (the upgrade attempt, the request head and its strings)
 * were promoted by the frequent young-generation collections of a handshake
 * burst and then stayed resident until the old generation filled up. A young
 * generation that starts at 4 MB semi-spaces instead of 1 MB lets them die
 * young: 9,000 idle tunnels opened in a burst cost 6,700-6,800 B each instead
 * of 7,500-7,900 (../shared/bench S4, two runs each), with no loss per GB.
 */
export const WSGATE_NODE_FLAGS: readonly string[] = ['--initial-heap-size=64', '--min-semi-space-size=4'];
