#include <boost/geometry.hpp>
#include <cstdio>
#include <random>
#include <vector>
#include <cmath>
namespace bg = boost::geometry;
typedef bg::model::point<double, 2, bg::cs::geographic<bg::degree>> point;
typedef bg::model::box<point> box;
std::mt19937_64 rng(99);
double U(double a, double b){ return std::uniform_real_distribution<double>(a,b)(rng); }
int I(int a, int b){ return std::uniform_int_distribution<int>(a,b)(rng); }
double pick(std::vector<double> v){ return v[I(0, v.size()-1)]; }
double coordlat(){ int k=I(0,5); if(k==0) return pick({90,-90,0,89.9999999,-89.9999999, 45}); if(k==1) return U(-90,90); if (k==2) return pick({U(-200,200), 100, -95, 270, 360}); return U(-90,90);}
double coordlon(){ int k=I(0,5); if(k==0) return pick({180,-180,0,90,-90,179.9999999, 360, -360, 540}); if(k==1) return U(-720,720); return U(-180,180);}
int main(int argc, char** argv){
  int n = argc>1?atoi(argv[1]):1000; if(argc>2) rng.seed(atoll(argv[2]));
  for(int t=0;t<n;t++){
    double la1=coordlat(), lo1=coordlon(), la2, lo2;
    int k=I(0,6);
    if(k==0){ la2=la1+U(-1,1); lo2=lo1+U(-1,1);} 
    else if(k==1){ la2=la1; lo2=lo1+pick({0.0,180.0,-180.0,360.0, 1e-12, 179.99999999});}
    else if(k==2){ la2=-la1+U(-1e-6,1e-6); lo2=lo1+180+U(-1e-6,1e-6);} 
    else if(k==3){ la2=la1+pick({0.0,1e-13,1e-9}); lo2=lo1+pick({0.0, 1e-13, 1e-9});}
    else { la2=coordlat(); lo2=coordlon(); }
    double d = bg::distance(point(lo1,la1), point(lo2,la2));
    printf("{\"a\":[%.17g,%.17g],\"b\":[%.17g,%.17g],\"d\":%.17g}\n", la1,lo1,la2,lo2, std::isfinite(d)?d:-1.0);
  }
}
