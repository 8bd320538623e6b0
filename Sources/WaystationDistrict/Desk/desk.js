// The district desk's script (served as /desk/static/desk.js): the station page's charts.
// Each `canvas[data-series]` names its JSON ({"unit", "series": [{"label", "points": [[unix_s, v]]}]});
// Chart.js 3.9 (Debian's libjs-chart.js, /desk/static/chart.min.js, loaded by the pages with charts)
// draws it as lines over a linear time axis, labelled HH:MM in the browser's time zone.
'use strict';

(function () {
  var colours = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a7ea4', '#57606a'];
  var units = { celsius: '°C', watts: 'W', watt: 'W', riders: '', percent: '%' };

  function hhmm(seconds) {
    var d = new Date(seconds * 1000);
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  // Tick spacing for a period of `span` seconds: whole hours (UTC multiples, whole hours locally too).
  function step(span) {
    if (!(span > 0)) { return undefined; }
    if (span <= 6 * 3600) { return 3600; }
    if (span <= 24 * 3600) { return 3 * 3600; }
    if (span <= 72 * 3600) { return 12 * 3600; }
    return 24 * 3600;
  }

  function note(canvas, text) {
    var p = document.createElement('p');
    p.className = 'note chart-note';
    p.textContent = text;
    canvas.parentNode.appendChild(p);
  }

  function draw(canvas, data) {
    var zh = document.documentElement.lang !== 'en';
    if (!data.series || data.series.length === 0) {
      note(canvas, zh ? '这段时间没有数据。' : 'No data for this period.');
      return;
    }
    var unit = units[data.unit] !== undefined ? units[data.unit] : data.unit;
    var datasets = data.series.map(function (s, i) {
      return {
        label: s.label,
        data: s.points.map(function (p) { return { x: p[0], y: p[1] }; }),
        borderColor: colours[i % colours.length],
        backgroundColor: colours[i % colours.length],
        borderWidth: 1.5,
        // A fresh station has a point or two: draw them as dots (a line needs two).
        pointRadius: s.points.length < 30 ? 2.5 : 0,
        spanGaps: false
      };
    });
    canvas.setAttribute('data-drawn', String(datasets.length));
    new window.Chart(canvas, {
      type: 'line',
      data: { datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: true,
        aspectRatio: 2,
        parsing: false,
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: {
            type: 'linear',
            min: data.start,
            max: data.end,
            ticks: { stepSize: step(data.end - data.start), callback: function (v) { return hhmm(v); }, maxTicksLimit: 9 }
          },
          y: { ticks: { callback: function (v) { return v + (unit ? ' ' + unit : ''); } } }
        },
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? hhmm(items[0].parsed.x) : ''; },
              label: function (item) {
                return item.dataset.label + ': ' + item.parsed.y + (unit ? ' ' + unit : '');
              }
            }
          }
        }
      }
    });
  }

  function load(canvas) {
    var zh = document.documentElement.lang !== 'en';
    fetch(canvas.getAttribute('data-series'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.json();
      })
      .then(function (data) { draw(canvas, data); })
      .catch(function (e) {
        canvas.setAttribute('data-error', String(e.message || e));
        note(canvas, (zh ? '图表无法加载：' : 'The chart could not be loaded: ') + (e.message || e));
      });
  }

  function init() {
    var canvases = document.querySelectorAll('canvas[data-series]');
    if (canvases.length === 0) { return; }
    if (!window.Chart) {
      canvases.forEach(function (c) { note(c, 'Chart.js is missing (/desk/static/chart.min.js).'); });
      return;
    }
    canvases.forEach(load);
  }

  // After every script: this one is deferred in the head, Chart.js deferred in the body after it.
  if (document.readyState === 'complete') {
    init();
  } else {
    window.addEventListener('load', init);
  }
})();
