-- Typst has no callout element: wrap the callout div in a tinted, ruled block.
-- (This filter also gives HTML tables a scroll box; see Table below.)
local colours = {
  note = "#0d6efd", tip = "#198754", warning = "#e0a800",
  caution = "#fd7e14", important = "#dc3545",
}

function Div(el)
  if FORMAT ~= "typst" or not el.classes:includes("callout") then
    return nil
  end
  local colour = "#6c757d"
  for _, c in ipairs(el.classes) do
    local kind = c:match("^callout%-(%a+)$")
    if kind and colours[kind] then colour = colours[kind] end
  end
  local blocks = pandoc.List({
    pandoc.RawBlock("typst", '#block(width: 100%, inset: 8pt, radius: 2pt, fill: rgb("' .. colour ..
      '").lighten(90%), stroke: (left: 3pt + rgb("' .. colour .. '")))['),
  })
  blocks:extend(el.content)
  blocks:insert(pandoc.RawBlock("typst", "]"))
  return blocks
end

-- HTML: a table wider than the text scrolls inside its own box (style.css .table-scroll).
function Table(el)
  if FORMAT:match("html") then
    return pandoc.Div({el}, pandoc.Attr("", {"table-scroll"}))
  end
  return nil
end
