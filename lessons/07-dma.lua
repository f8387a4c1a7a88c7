-- Lesson 7: DMA. Vocabulary: lessons/README.md.

local RX_LEN = 6000                 -- more than a page: a vmalloc buffer would span two frames
local TX = string.rep("0123456789abcdef", 375)   -- 6000 bytes to send

-- A power-of-two size as a person writes it: 16 MiB, 4 GiB.
local function size_text(n)
  for _, u in ipairs({ { 1 << 30, "GiB" }, { 1 << 20, "MiB" }, { 1 << 10, "KiB" } }) do
    if n >= u[1] and n % u[1] == 0 then return (n // u[1]) .. " " .. u[2] end
  end
  return n .. " bytes"
end

-- The device's view of the bytes at a bus address, or nil.
local function device_read(dev, dma, n)
  if math.type(dma) ~= "integer" or dma == DMA_MAPPING_ERROR then return nil end
  local ok, s = pcall(dev.dma_read, dev, dma, n)
  if ok then return s end
  return nil
end

return lesson{
  id = "07-dma",
  title = "DMA: devices see physical memory",
  text = [[
# DMA: devices see physical memory

A network card receiving a packet does not hand it to the CPU byte by
byte. The driver tells the card *where* in memory to put it, and the card
writes it there itself, as a bus master: direct memory access. Then it
raises an interrupt to say it is done.

## The device has no MMU

The CPU's loads and stores go through the page tables (lesson 3). The
device's do not: it puts an address on the bus, and on a plain PC bus
that address is a *physical* address. The device writes a buffer from its
first byte to its last at consecutive physical addresses. So memory for DMA
must be physically contiguous -- or the device writes into whatever frames
follow the buffer's first page.

    kmalloc   one buddy block: consecutive frames        good for DMA
    vmalloc   one page here, one page there              never hand it to a device

(Real machines often have an IOMMU, which translates bus addresses like an
MMU for devices, and the DMA API then hands out I/O virtual addresses.
kmlab has none: a DMA address is the physical address. The rules below are
the same either way, because a driver cannot know which machine it runs on.)

## Streaming mappings: dma_map_single

A driver does not compute bus addresses itself (`__pa` is not a bus
address when there is an IOMMU). It asks the DMA API:

    local dev = pci_device{name = "demo", dma_mask_bits = 32}
    local buf = kmalloc(2048, GFP_KERNEL)
    local dma = dma_map_single(dev, buf, 2048, DMA_FROM_DEVICE)
    if dma_mapping_error(dev, dma) then kfree(buf) return -ENOMEM end
    -- program dma into the device; the device writes; its interrupt says it is done
    dma_unmap_single(dev, dma, 2048, DMA_FROM_DEVICE)
    -- only now may the CPU read buf

The direction says who writes: `DMA_TO_DEVICE` (the device reads: a packet
to send), `DMA_FROM_DEVICE` (the device writes: a received packet),
`DMA_BIDIRECTIONAL`. Between map and unmap the buffer belongs to the device;
on machines whose caches are not coherent with DMA, the map and unmap calls
are where the kernel writes back or invalidates the cache lines, which is
why the CPU must not touch the buffer in between. Always test the result
with `dma_mapping_error`: mapping can fail. Unmap with the same size and
direction. The DMA debugging code (CONFIG_DMA_API_DEBUG, kernel/dma/debug.c;
kmlab always has it) checks all of this and reports "DMA-API: ..." warnings.

## Coherent allocations: dma_alloc_coherent

Some memory is shared for as long as the driver runs: a ring of
descriptors that the driver fills and the device reads and updates. For
that there is

    local cpu, dma = dma_alloc_coherent(dev, 4096, GFP_KERNEL)   -- zeroed
    ...
    dma_free_coherent(dev, 4096, cpu, dma)

which returns both addresses at once: one for the CPU, one to program into
the device. It picks memory the device can reach.

## vmalloc memory and devices

`dma_map_single` takes a kernel virtual address and converts it with
`virt_to_page` arithmetic, valid only in the direct map. Given a vmalloc
address, old kernels (kmlab's `boot{era="2.6"}`: 2.6.18 returned
`virt_to_phys(ptr)`) computed a meaningless frame -- not even the buffer's
first one -- and the device wrote into frames that belong to someone else
(kmlab's dma-debug warns "device driver maps memory from vmalloc area";
DMA-API debugging itself came only in 2.6.30). Since 5.18
`dma_map_single` refuses:

    demo 0000:00:03.0: rejecting DMA map of vmalloc memory

(a WARN, once) and returns `DMA_MAPPING_ERROR`. The same check catches
buffers on the stack, which are vmalloc memory with CONFIG_VMAP_STACK.
To see the corruption on a 6.x machine, hand the device one vmalloc page
and a length of two pages with `dma_map_page`, which maps from a page on:

    boot{fragmented = true}
    local dev = pci_device{name = "demo"}
    local v = vmalloc(8192)
    local d = dma_map_page(dev, vmalloc_to_page(v), 0, 8192, DMA_FROM_DEVICE)
    dev:dma_write(d, string.rep("B", 8192))   -- the device side, as kmlab simulates it
    --> DMA-API: demo 0000:00:03.0: device wrote to frames its mapping does not own ...
    --> DMA-API: victim pfn 0x... [bytes 4096-8191 of the transfer] owned by ...

and `peek(v + 4096, 4)` shows the second page of your buffer never received
anything: those bytes went to a stranger's frame.

## DMA masks and GFP_DMA

A device drives only so many address lines. Its DMA mask says which bus
addresses it can reach: 32 bits for most PCI devices, 64 for modern ones,
24 for ISA-era devices (and a few broken PCI ones) -- physical memory below
16 MiB only. That is why x86 has ZONE_DMA (lesson 9): `GFP_DMA` asks for
memory there. `dma_map_single` of a buffer the mask does not reach fails
(kmlab prints the kernel's "DMA addr ... overflow" warning; a real kernel
may instead bounce the data through swiotlb, a pool of low memory, at the
cost of a copy). `dma_alloc_coherent` looks at the mask itself and picks
the zone. The kernel's guide (Documentation/core-api/memory-allocation.rst)
says to prefer the dma_alloc* functions over GFP_DMA where you can.

## Buffers that other code hands you

A driver's transmit function often gets its data from another subsystem:
a filesystem, a network protocol, a user of your library. It cannot assume
that memory came from kmalloc. The careful driver checks:
`is_vmalloc_addr(buf)` (or `virt_addr_valid`); if the buffer is not in the
direct map, it copies the data into a DMA-able buffer of its own -- a
*bounce buffer* -- and maps that, or it maps the vmalloc pages one by one
with `vmalloc_to_page` for a device that takes a list of segments
(scatter-gather). And a buffer you have passed on to someone else, or one
the device still owns, is not yours to free or reuse.

## Exercises

The devices here are simulated PCI devices: `pci_device{name=, dma_mask_bits=}`.
The grader plays the hardware with `dev:dma_write` and `dev:dma_read`.
]],
  exercises = {
    question{
      id = "why_contig", points = 1,
      explain = "A bus master has no MMU: it puts consecutive physical addresses on the bus, so the buffer's frames must follow one another.",
      prompt = "Why must a buffer for dma_map_single be physically contiguous?",
      answer = choice{
        "the device puts physical addresses on the bus, one after another, with no page tables in between",
        "the CPU's cache write-back and invalidation at map and unmap time work only on contiguous ranges",
        "it need not be: the device translates each address through the CPU's page tables, as the CPU does",
        "a physically contiguous buffer is faster to allocate, and DMA needs its buffer as soon as possible",
      correct = 1 },
      feedback = {
        b = "The cache is the CPU's business; the problem is the device, which addresses memory physically.",
        c = "The device has no access to the CPU's MMU. An IOMMU, where there is one, is a separate translation that the DMA API sets up -- and kmlab has none.",
        d = "Contiguous memory is in fact harder to get (lesson 8); DMA needs it anyway.",
      },
      hints = { "Which translation does the CPU do on every access that a device on the bus does not?" },
    },
    question{
      id = "vmalloc_map", points = 1,
      explain = "Since 5.18 dma_map_single() refuses vmalloc addresses outright (a WARN and DMA_MAPPING_ERROR), because their frames are scattered and virt_to_page() arithmetic would be wrong.",
      prompt = "On a 6.x kernel, what does dma_map_single(dev, vmalloc(8192), 8192, DMA_FROM_DEVICE) do?",
      answer = choice{
        "maps the buffer's first page and returns its physical address; the device writes on from there",
        "warns \"rejecting DMA map of vmalloc memory\" and returns DMA_MAPPING_ERROR",
        "returns the vmalloc address itself: dma-direct hands virtual addresses to the device unchanged",
        "copies the data into contiguous frames (a bounce buffer) and returns the physical address of the copy",
      correct = 2 },
      feedback = {
        a = "Not even 2.6 did that: it returned virt_to_phys() of the vmalloc address, some unrelated frame, and the device wrote there. Since 5.18 the kernel refuses.",
        c = "The device does not understand kernel virtual addresses: it needs a bus address.",
        d = "The DMA API never moves your data for you (swiotlb bounces only for masks, and vmalloc is refused before that).",
      },
      hints = { "Try it: local dev = pci_device{name=\"demo\"}; print(dma_map_single(dev, vmalloc(8192), 8192, DMA_FROM_DEVICE), DMA_MAPPING_ERROR)" },
    },
    question{
      id = "isa_reach", points = 1,
      -- Each learner gets their own mask width.
      variant = function(rng) return { bits = rng:pick{ 20, 24, 26, 28, 30, 31, 32, 36 } } end,
      explain = function(v)
        return "An N-bit mask reaches addresses 0 to 2^N - 1, that is 2^N bytes: " .. v.bits .. " bits reach " .. size_text(1 << v.bits) .. ". ISA's 24 bits are why ZONE_DMA ends at 16 MiB."
      end,
      prompt = function(v)
        return "A device with a " .. v.bits .. "-bit DMA mask can reach how many bytes of physical memory, counted from address 0? (a size: \"16M\", \"16 MiB\" or a number)"
      end,
      answer = function(v) return numeric(1 << v.bits, { units = true }) end,
      feedback = function(v)
        local fb = {
          [v.bits] = v.bits .. " is the number of address bits; how many bytes do " .. v.bits .. " bits address?",
          [(1 << v.bits) - 1] = string.format("0x%x is the mask, the last reachable address; the size is one more.", (1 << v.bits) - 1),
          [896 * 1024 * 1024] = "896 MiB is the end of lowmem on a 2.6 x86_32 kernel (6.12's ends near 880 MiB), not a DMA limit.",
        }
        if v.bits ~= 32 then fb[4 * 1024 * 1024 * 1024] = "4 GiB is what a 32-bit mask reaches." end
        if v.bits ~= 24 then fb[16 * 1024 * 1024] = "16 MiB is what a 24-bit (ISA) mask reaches." end
        return fb
      end,
      hints = function(v) return { "2^" .. v.bits .. " bytes", "DMA_BIT_MASK(" .. v.bits .. ") + 1" } end,
    },
    question{
      id = "ring", points = 1,
      explain = "dma_alloc_coherent() returns memory both sides may use at any time, with a CPU and a DMA address, for as long as the driver keeps it: what a descriptor ring needs.",
      prompt = "A descriptor ring that the CPU and the device both read and write for as long as the driver is loaded: how do you allocate it?",
      answer = choice{
        "dma_alloc_coherent(dev, size, GFP_KERNEL) at probe, kept until remove",
        "vmalloc(size) at probe, mapped once with dma_map_single(..., DMA_BIDIRECTIONAL), kept until remove",
        "kmalloc(size, GFP_KERNEL), mapped with dma_map_single before and unmapped after every access",
        "kmalloc(size, GFP_ATOMIC) in the interrupt handler, each time the device needs a descriptor",
      correct = 1 },
      feedback = {
        b = "Never a vmalloc buffer for a device: its frames are scattered, and 6.x refuses to map it.",
        c = "Streaming mappings are for buffers handed over once (a packet); a ring both sides use all the time is what coherent memory is for.",
        d = "The device keeps the ring's address and reads it at any time: the ring must exist before the first interrupt and stay put. Allocate it once, at probe.",
      },
      hints = { "Which allocation returns both a CPU address and a DMA address, for the lifetime of the driver?" },
    },
    task{
      id = "rx_map", points = 3, expects = "map_rx", template = "dev, len",
      explain = "kmalloc gives physically contiguous memory, GFP_DMA puts it below 16 MiB where a 24-bit device reaches, and dma_mapping_error() catches the mappings that still fail, so the buffer can be freed.",
      prompt = "Write map_rx(dev, len): allocate a buffer the device can write len bytes into, map it for the device, and return the buffer's kernel address and its DMA address (two results); nil if anything fails, freeing what you allocated. It is called for an old device whose DMA mask is 24 bits and for a 32-bit one, with several lengths up to 8 KiB. After each call the grader lets the device write len bytes to the DMA address, unmaps the buffer as a receive buffer, and reads it with the CPU.",
      boot = { fragmented = true },
      -- Two machines (aged differently, one of them x86_64) and lengths
      -- nobody can guess besides the page-sized ones.
      cases = function(rng)
        local function lens() return { RX_LEN, rng:int(1, 4095), rng:int(4097, 8192), 4096, rng:int(1, 8192), rng:int(1, 200) } end
        return {
          { boot = { fragmented = true, seed = rng:int(1, 1 << 30) }, lens = lens(), label = "a fragmented x86_32 machine" },
          { boot = { arch = "x86_64", fragmented = true, seed = rng:int(1, 1 << 30) }, lens = lens(), label = "a fragmented x86_64 machine" },
        }
      end,
      setup = function(case)
        local lens = type(case) == "table" and case.lens or { RX_LEN, 100, 3000, 4096, 8000, 64 }
        return pci_device{ name = "oldcard", dma_mask_bits = 24 }, pci_device{ name = "newcard", dma_mask_bits = 32 }, lens
      end,
      call = function(map_rx, old, new, lens)
        local calls = { { old, lens[1] }, { old, lens[2] }, { new, lens[3] }, { old, lens[4] }, { old, lens[5] }, { new, lens[6] } }
        local seen = {}
        for i, c in ipairs(calls) do
          local dev, len = c[1], c[2]
          local cpu, dma = map_rx(dev, len)
          local pattern = string.rep(string.char(65 + i) .. string.char(97 + i * 3 % 26), len // 2 + 1):sub(1, len)
          if math.type(dma) == "integer" and dma ~= DMA_MAPPING_ERROR then
            dev:dma_write(dma, pattern)
            dma_unmap_single(dev, dma, len, DMA_FROM_DEVICE)
          end
          local ok, got = false, nil
          if math.type(cpu) == "integer" then ok, got = pcall(peek, cpu, len) end
          seen[i] = { mask = dev == old and 24 or 32, len = len, cpu = cpu, dma = dma, ok = ok and got == pattern }
        end
        return seen
      end,
      check = function(r)
        local seen = r.returned
        if type(seen) ~= "table" or #seen == 0 then return fail("the grader could not run your function") end
        for _, c in ipairs(seen) do
          local call = "map_rx(<" .. tostring(c.mask) .. "-bit device>, " .. tostring(c.len) .. ")"
          if c.dma == DMA_MAPPING_ERROR then return fail(call .. " returned DMA_MAPPING_ERROR as the DMA address: test it with dma_mapping_error, and ask yourself why the mapping failed (the device's mask).") end
          if math.type(c.dma) ~= "integer" or math.type(c.cpu) ~= "integer" then
            return fail(call .. " should return the buffer's kernel address and its DMA address, got " .. tostring(c.cpu) .. ", " .. tostring(c.dma) .. ". A 24-bit device reaches only the first 16 MiB: did the mapping fail?")
          end
          if not c.ok then return fail(call .. ": after the device wrote and the buffer was unmapped, the CPU does not see the device's bytes at your buffer's address.") end
        end
        if #r.freed_foreign ~= 0 then return fail("map_rx freed memory it does not own (" .. #r.freed_foreign .. " allocation(s) of the caller's).") end
        if #r.allocated ~= #seen then return fail("exactly one buffer per call should stay allocated (the receive buffers: " .. #seen .. "); " .. #r.allocated .. " allocation(s) did.") end
        return pass()
      end,
      hints = {
        "kmalloc gives contiguous memory, but where? A 24-bit device reaches only physical addresses below 16 MiB.",
        "kmalloc(len, GFP_KERNEL | GFP_DMA), then dma_map_single(dev, buf, len, DMA_FROM_DEVICE) and dma_mapping_error.",
      },
    },
    task{
      id = "tx_any", points = 3, expects = "tx_prepare", template = "dev, buf, len",
      explain = "Direct-map memory can be mapped as it is; a vmalloc buffer's frames are scattered, so its bytes are copied into a contiguous bounce buffer that is mapped instead.",
      prompt = "Write tx_prepare(dev, buf, len): another subsystem hands you buf, len bytes to send, and you do not know how buf was allocated: kmalloc or vmalloc. Return a DMA address from which the device can read those len bytes (mapped DMA_TO_DEVICE), and, as a second result, the bounce buffer you allocated for it, if you needed one (or nil). The grader calls it with kmalloc and vmalloc buffers of several sizes, some starting inside a page; after the device has read, it unmaps len bytes at that DMA address and kfrees your second result.",
      boot = { fragmented = true },
      -- Both architectures and both eras, each machine aged with its own seed:
      -- vmalloc'ed frames are scattered differently on each.
      cases = function(rng)
        return {
          { boot = { fragmented = true, seed = rng:int(1, 1 << 30) }, label = "a fragmented x86_32 machine (6.x)" },
          { boot = { arch = "x86_64", fragmented = true, seed = rng:int(1, 1 << 30) }, label = "a fragmented x86_64 machine" },
          { boot = { era = "2.6", fragmented = true, seed = rng:int(1, 1 << 30) }, label = "a fragmented 2.6 machine" },
        }
      end,
      setup = function()
        local dev = pci_device{ name = "txcard", dma_mask_bits = 32 }
        local bufs = {
          { kmalloc(#TX, GFP_KERNEL), #TX, "a kmalloc buffer" },
          { vmalloc(#TX), #TX, "a vmalloc buffer" },
          { kmalloc(8000, GFP_KERNEL) + 37, 5000, "a kmalloc buffer, 37 bytes in" },
          { vmalloc(3 * PAGE_SIZE) + 100, 2 * PAGE_SIZE + 900, "a vmalloc buffer over three pages, 100 bytes in" },
          { kmalloc(64, GFP_KERNEL), 64, "a 64-byte kmalloc buffer" },
          { vmalloc(2 * PAGE_SIZE) + PAGE_SIZE - 10, 200, "a vmalloc buffer across a page boundary" },
        }
        -- Each buffer holds different bytes: a window of TX..TX.
        for i, b in ipairs(bufs) do poke(b[1], (TX .. TX):sub(i, i + b[2] - 1)) end
        return dev, bufs
      end,
      call = function(tx_prepare, dev, bufs)
        local seen = {}
        for i, b in ipairs(bufs) do
          local buf, len = b[1], b[2]
          local want = peek(buf, len)
          local dma, bounce = tx_prepare(dev, buf, len)
          seen[i] = { what = b[3], len = len, dma = dma, right = device_read(dev, dma, len) == want }
          if math.type(dma) == "integer" and dma ~= DMA_MAPPING_ERROR then
            dma_unmap_single(dev, dma, len, DMA_TO_DEVICE)
          end
          if bounce ~= nil then kfree(bounce) end
        end
        return seen
      end,
      check = function(r)
        local seen = r.returned
        if type(seen) ~= "table" or #seen == 0 then return fail("the grader could not run your function") end
        for _, s in ipairs(seen) do
          if type(s) ~= "table" then return fail("the grader could not run your function") end
          local call = "with " .. tostring(s.what) .. " (len " .. tostring(s.len) .. ")"
          if s.dma == DMA_MAPPING_ERROR or math.type(s.dma) ~= "integer" then
            return fail(call .. ", tx_prepare returned no usable DMA address (" .. tostring(s.dma) .. ").")
          end
          if not s.right then
            return fail(call .. ", the device read other bytes than the data to send" .. (s.what:find("vmalloc") and ": a vmalloc buffer's pages are not consecutive frames." or "."))
          end
        end
        if #r.freed_foreign ~= 0 then
          return fail("the grader kfreed your second result and it was the caller's buffer, not a bounce buffer you allocated: return nil as the second result when you map buf itself.")
        end
        if #r.allocated ~= 0 then return fail("after the grader's unmaps and kfrees, " .. #r.allocated .. " allocation(s) of yours remain.") end
        return pass()
      end,
      hints = {
        "is_vmalloc_addr(buf) tells you whether the device could read buf directly.",
        "If it is vmalloc memory: local b = kmalloc(len, GFP_KERNEL); memcpy(b, buf, len); map b (DMA_TO_DEVICE) and return dma, b. Otherwise map buf itself and return dma, nil.",
      },
    },
  },
}
