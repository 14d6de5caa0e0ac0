// rscbench site: click a column header of a table.sortable to sort its rows (again to reverse).
// Cells sort by their data-value attribute (a number, or text), else by their text; empty values
// always go last. No network, no dependencies: the data is in the page.
(function () {
  "use strict";

  function cellKey(cell) {
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (raw === "") {
      return { empty: true, number: null, text: "" };
    }
    var number = Number(raw);
    return { empty: false, number: isNaN(number) ? null : number, text: raw.toLowerCase() };
  }

  function compare(a, b) {
    if (a.number !== null && b.number !== null) {
      return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
    }
    if (a.number !== null) {
      return -1;
    }
    if (b.number !== null) {
      return 1;
    }
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }

  function sortBy(table, header, column) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, index) {
      return { row: row, key: cellKey(row.cells[column]), index: index };
    });
    rows.sort(function (a, b) {
      if (a.key.empty !== b.key.empty) {
        return a.key.empty ? 1 : -1;
      }
      var order = compare(a.key, b.key);
      return (ascending ? order : -order) || a.index - b.index;
    });
    rows.forEach(function (item) {
      body.appendChild(item.row);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function makeSortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      var button = header.querySelector("button");
      if (button) {
        button.addEventListener("click", function () {
          sortBy(table, header, column);
        });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  });
})();
