const {Koncorde}=require('koncorde');
let seed = Number(process.argv[3]||1);
function rnd(){ seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
function U(a,b){ return a + rnd()*(b-a); }
function I(a,b){ return a + Math.floor(rnd()*(b-a+1)); }
function pick(a){ return a[I(0,a.length-1)]; }
const mode = process.argv[2]; const N = Number(process.argv[4]||100);
function coord(v){ return pick([v, v, String(v), String(v)+'x', pick(['', 'abc', null, true, [v], ' '+v])]); }
function geopoint(lat, lon){ return pick([[lat,lon], `${lat}, ${lon}`, {lat, lon}, {lat_lon:[lat,lon]}, {latLon:{lat:String(lat), lon}}, {latLon: `${lat},${lon}`}]); }
function boxValue(){
  let top = U(-90,90), bottom = U(-90,90), left = U(-200,200), right = left + pick([U(0,30), U(0,400), -U(0,10)]);
  if (rnd()<0.8 && bottom > top) [top,bottom]=[bottom,top];
  if (rnd()<0.1) bottom = top;
  if (rnd()<0.3) { top = Math.round(top); bottom = Math.round(bottom); left = Math.round(left); right = Math.round(right); }
  const k = I(0,5);
  if (k<=2) { const o = {}; for (const key of pick([['top','left','bottom','right'],['left','top','right','bottom'],['bottom','right','top','left']])) o[key] = (key==='top'?coord(top):key==='left'?coord(left):key==='bottom'?coord(bottom):coord(right)); if (rnd()<0.2) o.extra = 1; return o; }
  if (k===3) return {topLeft: geopoint(top,left), bottomRight: geopoint(bottom,right)};
  if (k===4) return {top_left: geopoint(top,left), bottom_right: rnd()<0.9 ? geopoint(bottom,right) : 'zz'};
  return pick([{topLeft: geopoint(top,left)}, {top: 1, left: 2, bottom: 0}, 'abc', [1,2], 5, {top_left: geopoint(top,left), topLeft: geopoint(top+1,left), bottomRight: geopoint(bottom,right)}, {topLeft: 0, bottomRight: [1,2]}]);
}
function queries(la, lo, r){ const q=[]; for (let i=0;i<40;i++){ const t=I(0,3); if(t===0) q.push([U(la-r,la+r), U(lo-r,lo+r)]); else if (t===1) q.push([U(-90,90), U(-540,540)]); else if (t===2) q.push([Math.round(U(la-r,la+r)), Math.round(U(lo-r,lo+r)) + 360*I(-1,1)]); else q.push([pick([90,-90,0,la]), pick([180,-180,0,lo,lo+360,lo-360])]); } return q; }
const out=[];
for (let n=0;n<N;n++){
  let filter, la, lo, r;
  if (mode==='boxes') { filter = {geoBoundingBox: {f: boxValue()}}; la=0; lo=0; r=200; }
  else { const nv=I(3,8); la=U(-85,85); lo=U(-180,180); r=pick([U(0.01,1),U(1,20),U(20,60)]); const pts=[]; for(let i=0;i<nv;i++) pts.push([Math.max(-90,Math.min(90,la+U(-r,r))), lo+U(-r,r)]); filter={geoPolygon:{f:{points:pts}}}; }
  const k = new Koncorde();
  let id;
  try { id = k.register(filter); } catch(e) { out.push(JSON.stringify({filter, error: e.message})); continue; }
  const docs=[];
  for (const [qa,qo] of queries(la,lo,r)) { let m; try { m = k.test({f:[qa,qo]}).length > 0 ? 1 : 0; } catch(e){ m = 'throw'; } docs.push([qa,qo,m]); }
  out.push(JSON.stringify({filter, docs}));
}
console.log(out.join('\n'));
