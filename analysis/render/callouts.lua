-- Typst has no callout element: wrap the callout div in a tinted, ruled block.
-- (This filter also gives HTML tables a scroll box; see Table below.)
local colours = {
  note = "#0d6efd", tip = "#198754", warning = "#e0a800",
  caution = "#fd7e14", important = "#dc3545",
}

-- A `.landscape` div: its pages turned sideways in Typst and DOCX, nothing in HTML, as Quarto's
-- own filter does (quarto-cli src/resources/filters/quarto-post/landscape.lua).
local function twips(x, default)
  local value = x and pandoc.utils.stringify(x) or ""
  if value == "" then value = default end
  local num, unit = value:match("([%d%.]+)%s*(%a+)")
  if unit == "cm" then return math.floor(tonumber(num) * 1440 / 2.54 + 0.5) end
  if unit == "in" then return math.floor(tonumber(num) * 1440 + 0.5) end
  error("landscape div: width and height take cm or in, not " .. value)
end

local function landscape(el)
  if FORMAT:match("typst") then
    local blocks = pandoc.List({pandoc.RawBlock("typst", "#set page(flipped: true)")})
    blocks:extend(el.content)
    blocks:insert(pandoc.RawBlock("typst", "#set page(flipped: false)"))
    return blocks
  elseif FORMAT:match("docx") then
    local open, close = "<w:p><w:pPr><w:sectPr>", "</w:sectPr></w:pPr></w:p>"
    el.content:insert(1, pandoc.RawBlock("openxml", open .. close))
    el.content:insert(pandoc.RawBlock("openxml", open .. '<w:pgSz w:h="' ..
      twips(el.attributes.height, "8.5in") .. '" w:w="' .. twips(el.attributes.width, "11in") ..
      '" w:orient="landscape" />' .. close))
    return el
  end
  return nil
end

function Div(el)
  if el.classes:includes("landscape") then
    return landscape(el)
  end
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

-- HTML: a table wider than the text scrolls inside its own box (style.css .table-scroll), its
-- caption above the box so that it is read whole, not scrolled out of view with the columns
-- (Quarto, too, writes a cross-referenced table's caption apart from the table).
function Table(el)
  if FORMAT:match("html") then
    if #el.caption.long == 0 then
      return pandoc.Div({el}, pandoc.Attr("", {"table-scroll"}))
    end
    local caption = pandoc.Div(el.caption.long, pandoc.Attr("", {"table-caption"}))
    el.caption = {long = pandoc.Blocks({})}
    -- the table is copied into the div: wrap it after taking its caption away
    return {caption, pandoc.Div({el}, pandoc.Attr("", {"table-scroll"}))}
  end
  return nil
end
