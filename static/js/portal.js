// A table wider than the screen scrolls by itself (portal.css); so that the keyboard can
// scroll it too, it takes focus.
document.querySelectorAll("main table").forEach((table) => {
  if (table.scrollWidth > table.clientWidth && !table.hasAttribute("tabindex")) {
    table.tabIndex = 0;
  }
});
