#include <boost/geometry.hpp>
#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/polygon.hpp>
#include <cstdio>
#include <random>
#include <vector>
#include <cmath>
namespace bg = boost::geometry;
typedef bg::model::point<double, 2, bg::cs::geographic<bg::degree>> point;
typedef bg::model::box<point> box;
typedef bg::model::polygon<point, false, false> polygon;

std::mt19937_64 rng(12345);
double U(double a, double b){ return std::uniform_real_distribution<double>(a,b)(rng); }
int I(int a, int b){ return std::uniform_int_distribution<int>(a,b)(rng); }
double pick(std::vector<double> v){ return v[I(0, v.size()-1)]; }

void emit(std::vector<std::pair<double,double>> const& pts /*lat,lon*/, std::vector<std::pair<double,double>> const& qs) {
  polygon pl;
  for (auto& p : pts) pl.outer().push_back(point(p.second, p.first));
  box env = bg::return_envelope<box>(pl);
  printf("{\"poly\":[");
  for (size_t i=0;i<pts.size();i++) printf("%s[%.17g,%.17g]", i?",":"", pts[i].first, pts[i].second);
  printf("],\"env\":[%.17g,%.17g,%.17g,%.17g],\"pts\":[", bg::get<0,0>(env), bg::get<0,1>(env), bg::get<1,0>(env), bg::get<1,1>(env));
  for (size_t i=0;i<qs.size();i++) {
    point q(qs[i].second, qs[i].first);
    int cb = bg::covered_by(q, pl) ? 1 : 0;
    int ie = bg::covered_by(q, env) ? 1 : 0;
    printf("%s[%.17g,%.17g,%d,%d]", i?",":"", qs[i].first, qs[i].second, cb, ie);
  }
  printf("]}\n");
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  if (argc > 2) rng.seed(atoll(argv[2]));
  for (int t = 0; t < n; t++) {
    int kind = I(0, 9);
    std::vector<std::pair<double,double>> pts, qs;
    double clat, clon, r;
    int nv = I(3, 9);
    switch (kind) {
      case 0: case 1: case 2: { // star-shaped random polygon
        clat = (kind==2) ? pick({U(60,89.9), U(-89.9,-60)}) : U(-85,85);
        clon = (I(0,3)==0) ? pick({180.0, -180.0, U(170,190), U(-190,-170)}) : U(-180,180);
        r = pick({U(0.0001,0.01), U(0.01,1), U(1,10), U(10,40)});
        std::vector<double> ang; for (int i=0;i<nv;i++) ang.push_back(U(0,2*M_PI)); std::sort(ang.begin(), ang.end());
        if (I(0,1)) std::reverse(ang.begin(), ang.end());
        for (double a : ang) { double rr = r*U(0.3,1); pts.push_back({clat + rr*sin(a), clon + rr*cos(a)/std::max(0.1, cos(clat*M_PI/180))}); }
        break; }
      case 3: { // random self-intersecting
        clat = U(-80,80); clon = U(-180,180); r = pick({U(0.01,1), U(1,20)});
        for (int i=0;i<nv;i++) pts.push_back({clat+U(-r,r), clon+U(-r,r)});
        break; }
      case 4: { // around a pole
        double s = I(0,1) ? 1 : -1; clat = 90*s; clon = 0; r = U(1,30);
        std::vector<double> lons; for (int i=0;i<nv;i++) lons.push_back(U(-180,180)); std::sort(lons.begin(), lons.end());
        if (I(0,1)) std::reverse(lons.begin(), lons.end());
        for (double l : lons) pts.push_back({s*(90 - r*U(0.5,1)), l});
        break; }
      case 5: { // vertices at special values
        std::vector<double> lats = {0, 45, -45, 89.999, -89.999, 90, -90, 10, -10, 60};
        std::vector<double> lons = {0, 90, -90, 180, -180, 179.9, -179.9, 10, 20, -170, 170, 45};
        for (int i=0;i<nv;i++) pts.push_back({pick(lats), pick(lons)});
        clat = 0; clon = 0; r = 90;
        break; }
      case 6: { // big polygons
        clat = U(-60,60); clon = U(-180,180); r = U(40,85);
        std::vector<double> ang; for (int i=0;i<nv;i++) ang.push_back(U(0,2*M_PI)); std::sort(ang.begin(), ang.end());
        for (double a : ang) { pts.push_back({std::max(-89.0,std::min(89.0, clat + r*sin(a))), clon + r*1.5*cos(a)}); }
        break; }
      case 7: { // axis aligned rectangles / grid points
        double lat0 = (double)I(-89, 88), lon0 = (double)I(-180,179); double w = (double)I(1,30), h = (double)I(1,20);
        double lat1 = std::min(90.0, lat0+h);
        pts = {{lat0,lon0},{lat1,lon0},{lat1,lon0+w},{lat0,lon0+w}};
        if (I(0,1)) std::reverse(pts.begin(), pts.end());
        clat = (lat0+lat1)/2; clon = lon0 + w/2; r = std::max(w,h);
        break; }
      case 8: { // duplicate vertices, closing vertex, collinear
        clat = U(-70,70); clon = U(-180,180); r = U(0.01, 5);
        pts = {{clat, clon}, {clat + r, clon}, {clat + r, clon + r}, {clat + r, clon + r}, {clat, clon + r}, {clat, clon}};
        break; }
      default: { // degenerate / wild: out of range coordinates
        clat = U(-80,80); clon = U(-400,400); r = U(0.1, 30);
        for (int i=0;i<nv;i++) pts.push_back({clat+U(-r,r), clon+U(-r,r) + 360*I(-1,1)});
        break; }
    }
    // query points
    double sc = std::max(0.1, cos(clat*M_PI/180));
    for (int i=0;i<60;i++) {
      int qk = I(0,7);
      double la, lo;
      if (qk <= 2) { la = clat + U(-1.3,1.3)*r; lo = clon + U(-1.3,1.3)*r/sc; }
      else if (qk == 3) { auto& v = pts[I(0,pts.size()-1)]; la = v.first; lo = v.second + pick({0.0, 360.0, -360.0}); }
      else if (qk == 4) { auto& v = pts[I(0,pts.size()-1)]; auto& w = pts[I(0,pts.size()-1)]; la = pick({v.first, w.first}) ; lo = pick({v.second, w.second, v.second+180, v.second-180}); la = la + pick({0.0, 0.0, U(-r,r)}); }
      else if (qk == 5) { la = pick({90.0, -90.0, 0.0, U(-90,90)}); lo = pick({0.0, 180.0, -180.0, U(-180,180), clon, clon+180}); }
      else if (qk == 6) { auto& v = pts[I(0,pts.size()-1)]; auto& w = pts[(I(0,pts.size()-1))]; double t = U(0,1); la = v.first + t*(w.first - v.first) + U(-1e-3,1e-3)*r; lo = v.second + t*(w.second-v.second) + U(-1e-3,1e-3)*r; }
      else { la = U(-90,90); lo = U(-180,180); }
      la = std::max(-90.0, std::min(90.0, la));
      qs.push_back({la, lo});
    }
    emit(pts, qs);
  }
  return 0;
}
