-- Lesson 7: DMA and physically contiguous memory. Vocabulary: lessons/README.md.

local PAYLOAD = string.rep("packet!", 428) -- 2996 bytes

local function new_reports_since(n)
  local all = reports()
  local out = {}
  for i = n + 1, #all do out[#out + 1] = all[i] end
  return out
end

return lesson{
  id = "07-dma",
  title = "DMA: what a device needs from memory",
  text = [[
# DMA: what a device needs from memory

A network card does not ask the CPU to copy each received packet. It
writes the packet into memory itself -- direct memory access -- and raises
an interrupt when it is done. To do that, the driver tells the device where
to write, and here is the catch: the device does not go through the CPU's
MMU. It sees bus addresses, which on a PC without an IOMMU are physical
addresses, and it moves a transfer of N bytes to N *consecutive* bus
addresses.

So a DMA buffer must be physically contiguous for as long as the device
uses it. kmalloc memory is (lesson 3); vmalloc memory is not, and neither is
a user buffer. A device handed the physical address of the first page of a
vmalloc buffer writes straight across whatever frames follow it -- someone
else's memory.

## The DMA API

Drivers never compute bus addresses themselves (`__pa` would be wrong with
an IOMMU, with bounce buffering, with a device that sees memory at an
offset). They ask the DMA API:

* **Streaming mappings**, for a buffer used for one transfer:

      dma = dma_map_single(dev, cpu_addr, size, DMA_FROM_DEVICE)
      if dma_mapping_error(dev, dma) then ... end  -- always check
      -- start the device; it writes; its interrupt says it is done
      dma_unmap_single(dev, dma, size, DMA_FROM_DEVICE)
      -- only now may the CPU read the data

  The direction (DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL) lets the
  kernel do the right cache maintenance on machines that need it.
  CONFIG_DMA_API_DEBUG (kmlab has it) reports a driver that never checks
  `dma_mapping_error`.

* **Coherent allocations**, for memory shared with the device for its whole
  life, such as a ring of descriptors:

      cpu, dma = dma_alloc_coherent(dev, size, GFP_KERNEL)
      dma_free_coherent(dev, size, cpu, dma)

`dma_map_single` of a vmalloc address is refused outright: the kernel
warns "rejecting DMA map of vmalloc memory" and returns DMA_MAPPING_ERROR.
A buffer that some other subsystem allocated with vmalloc (or that came
from user space) has to be copied into a DMA-able buffer first -- a bounce
buffer -- or mapped page by page with a scatter-gather list
(`dma_map_sg`; not in kmlab).

In kmlab a device is `pci_device{name=..., irq=..., dma_mask_bits=...}`,
and the simulated hardware side is `dev:dma_write(dma, bytes)` and
`dev:dma_read(dma, n)`: they move bytes through bus addresses, contiguously,
exactly as a bus master would. What kmlab simplifies: no IOMMU (bus address
= physical address), no cache effects, one device at a time.

## Exercises

Start with `kmlab lesson 7 --template > a7.lua`. Each task gets a device:

    local dev = pci_device{name = "nic0", irq = 11, dma_mask_bits = 32}
]],
  exercises = {
    question{
      id = "why", points = 1,
      prompt = "Why must a buffer a device writes by DMA be physically contiguous (without an IOMMU)?",
      answer = choice{
        "the device is faster with large pages",
        "the device does not use the CPU's page tables: it writes a transfer to consecutive bus (physical) addresses",
        "vmalloc memory is slower",
        "the kernel cannot free non-contiguous memory from an interrupt handler",
      correct = 2 },
      feedback = { a = "Speed is not the issue: correctness is. The device cannot translate virtual addresses." },
      hints = { "Does the device know about the CPU's virtual addresses?" },
    },
    question{
      id = "bus_addr", points = 2,
      prompt = "On kmlab's x86_32 machine without an IOMMU, a kmalloc buffer is at virtual address 0xC1A00000. What address does dma_map_single give the device? (a number; \"0x...\" is fine)",
      answer = numeric(0x01A00000),
      feedback = {
        [0xC1A00000] = "That is the CPU's virtual address; the device sees physical (bus) addresses.",
        [0x1A00] = "That is the page frame number, not an address.",
      },
      hints = { "Without an IOMMU, bus address = physical address.", "__pa(0xC1A00000)" },
    },
    question{
      id = "vmalloc_map", points = 1,
      prompt = "What does dma_map_single(dev, vmalloc_buffer, size, dir) do in current kernels?",
      answer = choice{
        "maps each page of the buffer for the device",
        "returns the physical address of the first page",
        "warns \"rejecting DMA map of vmalloc memory\" and returns DMA_MAPPING_ERROR",
        "copies the buffer into a bounce buffer automatically",
      correct = 3 },
      feedback = {
        a = "That is what a scatter-gather list (dma_map_sg) is for; dma_map_single maps one contiguous range.",
        b = "That was the old, silent bug: the device then wrote across other frames. Today the kernel refuses.",
      },
      hints = { "Try it and read dmesg()." },
    },
    task{
      id = "map_rx", points = 3, expects = "map_rx", template = "dev",
      prompt = "Write map_rx(dev): allocate a 4096-byte receive buffer, map it so the device can write into it, check the mapping, and return two values: the buffer's CPU address and its DMA address (nil, nil on failure).",
      setup = function() return pci_device{ name = "nic0", irq = 11, dma_mask_bits = 32 } end,
      check = function(r)
        local dev = r.args[1]
        local cpu, dma = r.results[1], r.results[2]
        if math.type(cpu) ~= "integer" or math.type(dma) ~= "integer" then
          return fail("map_rx should return the CPU address and the DMA address; got " .. tostring(cpu) .. ", " .. tostring(dma) .. ".")
        end
        if dma == DMA_MAPPING_ERROR then return fail("the DMA address is DMA_MAPPING_ERROR: the mapping failed.") end
        -- The device writes, the driver unmaps; dma-debug says whether the
        -- driver checked the mapping (so the check must not check it first).
        local data = string.rep("rx", 2048)
        local ok = pcall(function() dev:dma_write(dma, data) end)
        local before = #reports()
        pcall(dma_unmap_single, dev, dma, 4096, DMA_FROM_DEVICE)
        for _, rep in ipairs(new_reports_since(before)) do
          if rep.text:find("failed to check map error", 1, true) then
            return fail("always check the mapping with dma_mapping_error(dev, dma) before handing the address to the device (CONFIG_DMA_API_DEBUG: \"device driver failed to check map error\").")
          end
        end
        if not ok then return fail("the device could not write 4096 bytes at the DMA address you returned.") end
        local got_ok, got = pcall(peek, cpu, 4096)
        if not got_ok or got ~= data then return fail("what the device wrote does not appear at the CPU address you returned.") end
        return pass()
      end,
      hints = {
        "kmalloc gives physically contiguous memory; dma_map_single(dev, p, 4096, DMA_FROM_DEVICE) gives the device its address.",
        "if dma_mapping_error(dev, dma) then kfree(p); return nil, nil end",
      },
    },
    task{
      id = "bounce", points = 3, expects = "send_buffer", template = "dev, buf, len",
      prompt = "Write send_buffer(dev, buf, len): another subsystem hands you buf, len bytes it allocated with vmalloc, to transmit. Give the device a DMA address from which it can read exactly those bytes, and return that address (the caller unmaps and frees later).",
      setup = function()
        local buf = vmalloc(#PAYLOAD)
        poke(buf, PAYLOAD)
        return pci_device{ name = "nic0", irq = 11, dma_mask_bits = 32 }, buf, #PAYLOAD
      end,
      check = function(r)
        local dev = r.args[1]
        local dma = r.returned
        if math.type(dma) ~= "integer" or dma_mapping_error(dev, dma) then
          return fail("send_buffer should return a valid DMA address; got " .. tostring(dma) .. ".")
        end
        local ok, got = pcall(function() return dev:dma_read(dma, #PAYLOAD) end)
        if not ok or got ~= PAYLOAD then return fail("the device does not read the buffer's bytes at that DMA address.") end
        return pass()
      end,
      hints = {
        "dma_map_single refuses vmalloc memory. Where can you put the bytes so that it accepts them?",
        "local b = kmalloc(len, GFP_KERNEL); memcpy(b, buf, len); then map b DMA_TO_DEVICE and check the mapping.",
      },
    },
  },
}
