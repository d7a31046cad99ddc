"""Buffer planning keeps a slot's last reader incrementally: same placement as the direct
definition (rescan every buffer in the slot), without its quadratic cost on long unrolled graphs."""
from test_fusion import make, schedule

from fuseflow.compiler.buffer_planning import _in_place_ok, plan_buffers
from fuseflow.compiler.shapes import num_elements


def _reference_mapping(program):
    temps = {n for n, b in program.buffers.items() if b.role == "temp"}
    last_read = {}
    for k, kernel in enumerate(program.kernels):
        for name in kernel.reads:
            if name in temps:
                last_read[name] = k
    mapping, slots = {}, []
    for k, kernel in enumerate(program.kernels):
        for name in kernel.writes:
            if name not in temps or name in mapping:
                continue
            buf = program.buffers[name]
            chosen = None
            for phys, dtype, n in slots:
                if dtype != buf.dtype or n != num_elements(buf.shape):
                    continue
                end = max(last_read.get(o, k + 1) for o, p in mapping.items() if p == phys)
                if end < k or (end == k and _in_place_ok(kernel, phys, name)):
                    chosen = phys
                    break
            if chosen is None:
                chosen = name
                slots.append((name, buf.dtype, num_elements(buf.shape)))
            mapping[name] = chosen
    return mapping


def test_incremental_slot_ends_match_the_direct_definition():
    g, em, (x,) = make((32, 32))
    h = x
    outs = []
    for _ in range(40):         # an unrolled recurrence: row reductions + elementwise, many temps
        s = em.reduce_sum(em.exp(h), axes=(0,), keepdims=True)
        h = em.exp(em.sub(h, s))
        outs.append(em.reduce_max(h, axes=(0, 1), keepdims=False))
    g, prog = schedule(g, [h] + outs[::7])
    planned = plan_buffers(prog)
    expected = _reference_mapping(prog)
    assert planned.buffer_mapping == expected
    assert len(set(expected.values())) < len(expected)
