/* patrol ui: enhancements only. Every page works without this file:
 * the place of an entry (when the inspector allows it), the credit code's
 * check character as typed, the print button, the signature pad. */
(function () {
  'use strict';

  /* The place: asked once per page, kept in the form's hidden fields. */
  var locs = document.querySelectorAll('[data-loc]');
  if (locs.length && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(function (pos) {
      var c = pos.coords;
      document.querySelectorAll('input[name=lat]').forEach(function (i) { i.value = c.latitude.toFixed(7); });
      document.querySelectorAll('input[name=lon]').forEach(function (i) { i.value = c.longitude.toFixed(7); });
      document.querySelectorAll('input[name=acc]').forEach(function (i) { i.value = Math.round(c.accuracy); });
      locs.forEach(function (p) {
        p.textContent = '\u4f4d\u7f6e\uff1a' + c.latitude.toFixed(5) + ', ' +
          c.longitude.toFixed(5) + ' \u00b1' + Math.round(c.accuracy) + 'm';
      });
    }, function () {}, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  /* Unified social credit code, GB 32100-2015: the 18th character is a
   * check character over the first 17. */
  var CS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  var W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  function creditOk(s) {
    if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(s)) return null;
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += CS.indexOf(s[i]) * W[i];
    var c = 31 - (sum % 31);
    if (c === 31) c = 0;
    return CS[c] === s[17];
  }
  document.querySelectorAll('input[data-check=credit]').forEach(function (inp) {
    var out = document.querySelector('[data-for="' + inp.id + '"]');
    function check() {
      var v = inp.value.toUpperCase();
      if (v !== inp.value) inp.value = v;
      var ok = v.length === 18 ? creditOk(v) : null;
      inp.setCustomValidity(ok === false ? inp.getAttribute('data-msg') : '');
      if (out) {
        out.textContent = ok === false ? inp.getAttribute('data-msg') :
          ok ? '\u2713' : (v.length ? v.length + '/18' : '');
        out.className = ok === false ? 'live err' : 'live';
      }
    }
    inp.addEventListener('input', check);
    check();
  });

  document.querySelectorAll('[data-print]').forEach(function (b) {
    b.addEventListener('click', function () { window.print(); });
  });
})();

/* A leaflet chosen from the catalogue gives its title. */
(function () {
  'use strict';
  var code = document.querySelector('select[name="f.code"]');
  var title = document.querySelector('input[name="f.title"]');
  if (!code || !title) return;
  code.addEventListener('change', function () {
    var o = code.options[code.selectedIndex];
    if (o && o.value && !title.value) title.value = o.text.replace(/^\S+\s+/, '');
  });
})();

/* The signature pad of a delivery (送达回证): strokes with their points in
 * order and their time (ms since the first touch), and the image, into the
 * form's hidden fields; the server imports both as evidence. */
(function () {
  'use strict';
  document.querySelectorAll('canvas[data-sign]').forEach(function (cv) {
    var form = cv.closest('form');
    var ctx = cv.getContext('2d');
    var strokes = [], cur = null, t0 = null;
    var sIn = form.querySelector('input[name=sig_strokes]');
    var pIn = form.querySelector('input[name=sig_png]');
    ctx.lineWidth = 5; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#000';
    function blank() { ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height); }
    blank();
    function pos(e) {
      var r = cv.getBoundingClientRect();
      return [Math.round((e.clientX - r.left) * cv.width / r.width),
              Math.round((e.clientY - r.top) * cv.height / r.height)];
    }
    function keep() {
      sIn.value = strokes.length ? JSON.stringify({ w: cv.width, h: cv.height, strokes: strokes }) : '';
      pIn.value = strokes.length ? cv.toDataURL('image/png') : '';
    }
    cv.addEventListener('pointerdown', function (e) {
      e.preventDefault();
      if (cv.setPointerCapture) cv.setPointerCapture(e.pointerId);
      if (t0 === null) t0 = performance.now();
      var p = pos(e);
      cur = [[p[0], p[1], Math.round(performance.now() - t0)]];
      strokes.push(cur);
      ctx.beginPath(); ctx.moveTo(p[0], p[1]);
    });
    cv.addEventListener('pointermove', function (e) {
      if (!cur) return;
      e.preventDefault();
      var p = pos(e);
      cur.push([p[0], p[1], Math.round(performance.now() - t0)]);
      ctx.lineTo(p[0], p[1]); ctx.stroke();
    });
    function end() { if (cur) { cur = null; keep(); } }
    cv.addEventListener('pointerup', end);
    cv.addEventListener('pointercancel', end);
    var clear = form.querySelector('[data-sign-clear]');
    if (clear) clear.addEventListener('click', function () {
      strokes = []; cur = null; t0 = null; blank(); keep();
    });
  });
})();
